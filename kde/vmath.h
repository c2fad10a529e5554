/*
 * vmath.h - two-lane exp, log and erf for the KDE's hot loops (internal).
 *
 * On x86-64 with glibc these are libmvec's SIMD variants (_ZGVbN2v_*, part
 * of libc6 since glibc 2.22/2.35; the "b" variants take one SSE register of
 * two doubles); CMake defines FRESH_HAVE_LIBMVEC when it finds them. They
 * are not libm's scalar functions: their results may differ from exp(),
 * log() and erf() in the last bit or two (glibc documents at most 4 ulp
 * for its vector functions; libm's own scalar exp has FMA and non-FMA
 * variants that differ the same way). Elsewhere each lane calls the scalar
 * function. Everything here is pure: thread-safe.
 */
#ifndef FRESH_VMATH_H
#define FRESH_VMATH_H

#include <math.h>
#include <string.h>

typedef double fresh__v2d __attribute__((vector_size(16)));

#if defined(FRESH_HAVE_LIBMVEC)
fresh__v2d _ZGVbN2v_exp(fresh__v2d);
fresh__v2d _ZGVbN2v_log(fresh__v2d);
fresh__v2d _ZGVbN2v_erf(fresh__v2d);
static inline fresh__v2d fresh__vexp(fresh__v2d x) { return _ZGVbN2v_exp(x); }
static inline fresh__v2d fresh__vlog(fresh__v2d x) { return _ZGVbN2v_log(x); }
static inline fresh__v2d fresh__verf(fresh__v2d x) { return _ZGVbN2v_erf(x); }
#else
static inline fresh__v2d fresh__vexp(fresh__v2d x) { return (fresh__v2d){exp(x[0]), exp(x[1])}; }
static inline fresh__v2d fresh__vlog(fresh__v2d x) { return (fresh__v2d){log(x[0]), log(x[1])}; }
static inline fresh__v2d fresh__verf(fresh__v2d x) { return (fresh__v2d){erf(x[0]), erf(x[1])}; }
#endif

static inline fresh__v2d fresh__vload(const double *p)
{
    fresh__v2d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void fresh__vstore(double *p, fresh__v2d v) { memcpy(p, &v, sizeof v); }

#endif
