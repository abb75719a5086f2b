/*
 * idem_format.h — on-disk constants of the keys file `idemkeys`.
 * See FORMAT.md §3.8.
 */
#ifndef STRATA_IDEM_FORMAT_H
#define STRATA_IDEM_FORMAT_H

#define IDEMF_MAGIC "STRATAIK"
#define IDEMF_VERSION 1u
#define IDEMF_HEADER_SIZE 40u
#define IDEMF_TRAILER_SIZE 8u
#define IDEMF_FILE_NAME "idemkeys"

#endif
