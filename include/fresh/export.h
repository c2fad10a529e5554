/* fresh/export.h - symbol visibility: the library is built with hidden
 * symbols; only what carries FRESH_API is exported. */
#ifndef FRESH_EXPORT_H
#define FRESH_EXPORT_H
#if defined(FRESH_STATIC_DEFINE)
#define FRESH_API
#elif defined(__GNUC__)
#define FRESH_API __attribute__((visibility("default")))
#else
#define FRESH_API
#endif
#endif
