/* SPDX-License-Identifier: MIT */
/*
 * banned.h - functions we do not use; include last (git banned.h).
 */
#ifndef LAMBDAFS_BANNED_H
#define LAMBDAFS_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef mktemp
#define mktemp(x) BANNED(mktemp)
#undef atoi
#define atoi(x) BANNED(atoi)

#endif
