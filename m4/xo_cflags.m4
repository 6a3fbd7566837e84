# XO_CFLAGS_WARN(FLAGS, [VARIABLE = XO_WARN_CFLAGS])
# Appends to VARIABLE each flag in FLAGS that the C compiler accepts
# (tested with -Werror so that unknown flags are not silently ignored).
AC_DEFUN([XO_CFLAGS_WARN], [
	m4_pushdef([xo_var], m4_default([$2], [XO_WARN_CFLAGS]))
	for xo_flag in m4_normalize([$1]); do
		AC_MSG_CHECKING([whether $CC accepts $xo_flag])
		xo_save_CFLAGS="$CFLAGS"
		CFLAGS="$CFLAGS -Werror $xo_flag"
		AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
			[AC_MSG_RESULT([yes]); xo_var="$xo_var $xo_flag"],
			[AC_MSG_RESULT([no])])
		CFLAGS="$xo_save_CFLAGS"
	done
	AC_SUBST(xo_var)
	m4_popdef([xo_var])
])
