/*
 * Ember: embeddable large-language-model inference from GGUF files.
 *
 * This is the only public header. It is C99 and keeps its ABI stable:
 *  - every object is an opaque handle;
 *  - every call returns an ember_status; ember_last_error() gives the calling thread's
 *    message for the last failure;
 *  - params structs begin with `uint32_t struct_size` and new fields only go at the end;
 *  - no C++ exception, abort or exit ever crosses this boundary.
 */
#ifndef EMBER_EMBER_H
#define EMBER_EMBER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(EMBER_BUILDING)
#    define EMBER_API __declspec(dllexport)
#  else
#    define EMBER_API __declspec(dllimport)
#  endif
#else
#  define EMBER_API __attribute__((visibility("default")))
#endif

/* Library version. The ABI major version changes only for incompatible changes. */
#define EMBER_VERSION_MAJOR 0
#define EMBER_VERSION_MINOR 1
#define EMBER_VERSION_PATCH 0
#define EMBER_VERSION_STRING "0.1.0"
#define EMBER_VERSION_NUMBER (EMBER_VERSION_MAJOR * 1000000 + EMBER_VERSION_MINOR * 1000 + EMBER_VERSION_PATCH)

/* Result of every call. New codes may be added at the end; unknown codes are failures. */
typedef enum ember_status {
    EMBER_OK = 0,
    EMBER_ERR_INVALID_ARGUMENT = 1, /* a NULL handle, a bad parameter or an out-of-range value */
    EMBER_ERR_IO = 2,               /* a file could not be opened, mapped or written */
    EMBER_ERR_BAD_FORMAT = 3,       /* malformed, truncated or unsupported file contents */
    EMBER_ERR_UNSUPPORTED = 4,      /* a valid request this build cannot serve */
    EMBER_ERR_OUT_OF_MEMORY = 5,
    EMBER_ERR_NOT_FOUND = 6,        /* a key, tensor or file that does not exist */
    EMBER_ERR_CONTEXT_FULL = 7,     /* the KV cache has no room for the batch */
    EMBER_ERR_ABORTED = 8,          /* a callback asked to stop */
    EMBER_ERR_INTERNAL = 9
} ember_status;

/* The version this library was built as: EMBER_VERSION_NUMBER of its header. */
EMBER_API uint32_t ember_version(void);
/* The version as "MAJOR.MINOR.PATCH"; static storage. */
EMBER_API const char *ember_version_string(void);

/* A short English description of a status code; static storage, never NULL. */
EMBER_API const char *ember_status_string(ember_status status);

/* The message of the last failed call on this thread ("" if none); valid until the next
   Ember call on the same thread. */
EMBER_API const char *ember_last_error(void);

/* A one-line description of the CPU features and the kernel level in use; static storage. */
EMBER_API const char *ember_system_info(void);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_EMBER_H */
