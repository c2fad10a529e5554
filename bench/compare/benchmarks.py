#!/usr/bin/python3
"""The four benchmarks of fresh (docs: docs/benchmarks-spec.md, mirrored by
bench/lib/functions.c) written again in Python from the spec, for the Optuna
peers of the comparison.

Configurations are lists in the order of fresh's spaces (bench/lib/functions.c):
  counting_ones  c_0..c_7 (0/1), x_0..x_7 in [0, 1]
  branin_mf      x1 in [-5, 10], x2 in [0, 15]
  hartmann6_mf   x_0..x_5 in [0, 1]
  lc_mixed       lr (log, [1e-4, 1]), layers (int 1..8),
                 optimizer (index: 0 adam, 1 sgd, 2 rmsprop), momentum ([0, 0.99],
                 NaN unless sgd)

`python3 benchmarks.py --check` checks the section-5 test vectors (relative error
<= 1e-12); the check also runs once at import (cheap).
"""
import math
import sys

import numpy as np

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB
STREAM_NOISE = 0x00000000FFFFFFFF


def sm64(x):
    z = (x + GAMMA) & MASK
    z = ((z ^ (z >> 30)) * M1) & MASK
    z = ((z ^ (z >> 27)) * M2) & MASK
    return z ^ (z >> 31)


def hash4(seed, key, stream, index):
    return sm64(sm64(sm64(sm64(seed & MASK) ^ (key & MASK)) ^ (stream & MASK)) ^ (index & MASK))


def U(seed, key, stream, index):
    return (hash4(seed, key, stream, index) >> 11) * 2.0 ** -53


def N(seed, key, stream, index):
    u1 = U(seed, key, stream, 2 * index)
    u2 = U(seed, key, stream, 2 * index + 1)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


# numpy versions (uint64 arithmetic wraps modulo 2^64) for counting_ones
_G = np.uint64(GAMMA)
_M1 = np.uint64(M1)
_M2 = np.uint64(M2)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def _sm64_np(z):
    z = z + _G
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def U_range(seed, key, stream, k0, k1):
    """U(seed, key, stream, k) for k = k0 .. k1-1, as a numpy array."""
    prefix = sm64(sm64(sm64(seed & MASK) ^ (key & MASK)) ^ (stream & MASK))
    idx = np.arange(k0, k1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = _sm64_np(np.uint64(prefix) ^ idx)
    return (h >> _S11).astype(np.float64) * 2.0 ** -53


def _fidelity(b, bmin, bmax):
    return math.log(b / bmin) / math.log(bmax / bmin)


class Benchmark:
    name = ""
    min_budget = 1
    max_budget = 81
    eta = 3
    f_opt = 0.0
    report_every_epoch = False

    def rungs(self):
        r, b = [], self.min_budget
        while b <= self.max_budget:
            r.append(b)
            b *= self.eta
        return r

    def report_steps(self):
        """Budgets a pruned trial reports at (every epoch for lc_mixed)."""
        if self.report_every_epoch:
            return list(range(1, self.max_budget + 1))
        return self.rungs()


class CountingOnes(Benchmark):
    name = "counting_ones"
    min_budget, max_budget = 9, 729
    f_opt = -16.0

    def params(self):
        return [("c_%d" % i, "cat", (0, 1)) for i in range(8)] + \
               [("x_%d" % i, "float", (0.0, 1.0, False)) for i in range(8)]

    def observed(self, x, b, seed, key):
        return self.evaluator(x, seed, key)(b)

    def evaluator(self, x, seed, key):
        """A resumable evaluation: f(b) for increasing b extends the samples."""
        counts = [0] * 8
        done = [0]

        def f(b):
            b = int(round(b))
            if b > done[0]:
                for i in range(8):
                    u = U_range(seed, key, i, done[0], b)
                    counts[i] += int(np.count_nonzero(u < x[8 + i]))
                done[0] = b
            elif b < done[0]:
                return CountingOnes().observed_fresh(x, b, seed, key)
            acc = 0.0
            for i in range(8):
                acc += counts[i] / b
            acc += sum(int(round(c)) for c in x[:8])
            return -acc
        return f

    def observed_fresh(self, x, b, seed, key):
        return self.evaluator(x, seed, key)(b)

    def truth(self, x):
        return -(sum(int(round(c)) for c in x[:8]) + sum(x[8:16]))


class BraninMF(Benchmark):
    name = "branin_mf"
    f_opt = 0.39788735772973816

    def params(self):
        return [("x1", "float", (-5.0, 10.0, False)), ("x2", "float", (0.0, 15.0, False))]

    @staticmethod
    def g(x, s):
        x1, x2 = x[0], x[1]
        B = 5.1 / (4.0 * (math.pi * math.pi)) - 0.01 * (1.0 - s)
        C = 5.0 / math.pi - 0.1 * (1.0 - s)
        T = 1.0 / (8.0 * math.pi) + 0.005 * (1.0 - s)
        t = x2 - B * (x1 * x1) + C * x1 - 6.0
        return t * t + 10.0 * (1.0 - T) * math.cos(x1) + 10.0

    def observed(self, x, b, seed, key):
        b = int(round(b))
        s = _fidelity(b, 1, 81)
        return self.g(x, s) + 0.5 * (1.0 - s) * N(seed, key, STREAM_NOISE, b)

    def evaluator(self, x, seed, key):
        return lambda b: self.observed(x, b, seed, key)

    def truth(self, x):
        return self.g(x, 1.0)


H6_ALPHA = (1.0, 1.2, 3.0, 3.2)
H6_A = ((10, 3, 17, 3.5, 1.7, 8), (0.05, 10, 17, 0.1, 8, 14),
        (3, 3.5, 1.7, 10, 17, 8), (17, 8, 0.05, 10, 0.1, 14))
H6_P = ((1312, 1696, 5569, 124, 8283, 5886), (2329, 4135, 8307, 3736, 1004, 9991),
        (2348, 1451, 3522, 2883, 3047, 6650), (4047, 8828, 8732, 5743, 1091, 381))


class Hartmann6MF(Benchmark):
    name = "hartmann6_mf"
    f_opt = -3.322368011415515

    def params(self):
        return [("x_%d" % j, "float", (0.0, 1.0, False)) for j in range(6)]

    @staticmethod
    def h(x, s):
        total = 0.0
        for i in range(4):
            inner = 0.0
            for j in range(6):
                d = x[j] - 1e-4 * H6_P[i][j]
                inner += H6_A[i][j] * (d * d)
            alpha = H6_ALPHA[i] - 0.5 * (1.0 - s)
            total += alpha * math.exp(-inner)
        return -total

    def observed(self, x, b, seed, key):
        b = int(round(b))
        s = _fidelity(b, 1, 81)
        return self.h(x, s) + 0.1 * (1.0 - s) * abs(N(seed, key, STREAM_NOISE, b))

    def evaluator(self, x, seed, key):
        return lambda b: self.observed(x, b, seed, key)

    def truth(self, x):
        return self.h(x, 1.0)


LC_CONST = ((-3.0, 0.10, 1.0, 0.6), (-1.0, 0.05, 0.8, 1.2), (-2.5, 0.09, 0.8, 0.8))
LC_OPTIMIZERS = ("adam", "sgd", "rmsprop")


class LcMixed(Benchmark):
    name = "lc_mixed"
    f_opt = 0.09634202723878377
    report_every_epoch = True

    def params(self):
        return [("lr", "float", (1e-4, 1.0, True)), ("layers", "int", (1, 8)),
                ("optimizer", "cat", LC_OPTIMIZERS), ("momentum", "float", (0.0, 0.99, False))]

    @staticmethod
    def curve(x, e):
        lr, L, opt = x[0], float(round(x[1])), int(round(x[2]))
        u = math.log10(lr)
        if opt == 1:
            u -= math.log10(1.0 - x[3])
        k = LC_CONST[opt]
        d = u - k[0]
        final = k[1] + 0.1 * (d * d) + 0.01 * ((L - 6.0) * (L - 6.0))
        rate = k[2] * math.exp(0.5 * d) * (1.0 - 0.04 * (L - 1.0))
        rate = min(max(rate, 0.05), 3.0)
        amp = k[3] * math.exp(-0.3 * d) * (0.6 + 0.05 * L)
        return final + amp * math.pow(e, -rate)

    def observed(self, x, b, seed, key):
        e = int(round(b))
        return self.curve(x, float(e)) + (0.02 / math.sqrt(e)) * N(seed, key, STREAM_NOISE, e)

    def evaluator(self, x, seed, key):
        return lambda b: self.observed(x, b, seed, key)

    def truth(self, x):
        return self.curve(x, 81.0)


BENCHMARKS = {b.name: b for b in (CountingOnes(), BraninMF(), Hartmann6MF(), LcMixed())}


def get(name):
    return BENCHMARKS[name]


def check(verbose=False):
    """Asserts the section-5 test vectors (relative error <= 1e-12)."""
    def close(a, b, what):
        rel = abs(a - b) / max(abs(b), 1e-300)
        assert rel <= 1e-12, "%s: got %r, want %r (rel err %g)" % (what, a, b, rel)
        if verbose:
            print("ok  %-50s %.17g" % (what, a))

    assert sm64(0) == 0xe220a8397b1dcdaf, "sm64(0)"
    assert hash4(1, 2, 3, 4) == 0xd55ccd4aeb3ccafb, "hash4"
    close(U(1, 2, 3, 4), 0.8334472949893438, "U(1,2,3,4)")
    close(float(U_range(1, 2, 3, 4, 5)[0]), 0.8334472949893438, "U_range(1,2,3,4)")
    close(N(1, 2, 0xFFFFFFFF, 9), -0.1757125725361458, "N(1,2,0xFFFFFFFF,9)")
    seed, key = 7, 3
    nan = float("nan")
    co = [0, 1, 0, 1, 0, 1, 0, 1] + [(i + 1) / 10 for i in range(8)]
    vec = [
        ("counting_ones", co, 9, -7.888888888888888, -7.6),
        ("counting_ones", co, 81, -7.382716049382716, -7.6),
        ("counting_ones", co, 729, -7.635116598079561, -7.6),
        ("branin_mf", [3.0, 2.0], 1, 1.4183863491425623, 0.6445340694734334),
        ("branin_mf", [3.0, 2.0], 9, 1.088411199054123, 0.6445340694734334),
        ("branin_mf", [3.0, 2.0], 81, 0.6445340694734334, 0.6445340694734334),
        ("branin_mf", [-2.0, 11.0], 1, 8.91430841429754, 7.694535290476077),
        ("branin_mf", [-2.0, 11.0], 3, 7.96479958254667, 7.694535290476077),
        ("branin_mf", [-2.0, 11.0], 27, 8.070436116175596, 7.694535290476077),
    ]
    h6 = [0.2, 0.15, 0.45, 0.3, 0.3, 0.65]
    for b, o in ((1, -2.5196723052409182), (9, -2.8920392639492736), (81, -3.2915966185560794)):
        vec.append(("hartmann6_mf", h6, b, o, -3.2915966185560794))
    lc = [([0.003, 4, 0, nan], (0.5994411875279555, 0.19786664416501556, 0.16322011598990913),
           0.16583439593525356),
          ([0.05, 6, 1, 0.9], (0.9952489409065268, 0.2104882510953831, 0.11245809447441445),
           0.11507237441975889),
          ([0.001, 8, 2, nan], (1.105158893911936, 0.48919482276061693, 0.2818375797988041),
           0.28445185974414855)]
    for x, obs, tr in lc:
        for b, o in zip((1, 10, 81), obs):
            vec.append(("lc_mixed", x, b, o, tr))
    for name, x, b, o, t in vec:
        bm = BENCHMARKS[name]
        close(bm.observed(x, b, seed, key), o, "%s observed b=%d x=%s" % (name, b, x[:4]))
        close(bm.truth(x), t, "%s true x=%s" % (name, x[:4]))
    # resumable counting_ones: 9 -> 81 -> 729 on one evaluator equals fresh evaluations
    f = BENCHMARKS["counting_ones"].evaluator(co, seed, key)
    for b, o in ((9, -7.888888888888888), (81, -7.382716049382716), (729, -7.635116598079561)):
        close(f(b), o, "counting_ones resumed b=%d" % b)
    # optima
    close(BENCHMARKS["branin_mf"].truth([math.pi, 2.275]), 0.39788735772973816, "branin f_opt")
    close(BENCHMARKS["lc_mixed"].truth([0.21945324492, 6, 1, 0.0]), 0.09634202723878377,
          "lc_mixed f_opt")
    return len(vec)


check()

if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        n = check(verbose=True)
        print("benchmarks.py: all %d test vectors match (rel err <= 1e-12)" % n)
