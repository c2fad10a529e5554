/*
 * _fresh.c - the CPython extension under `import fresh`: Space, Study, Trial
 * and Error over libfresh's public API (include/fresh/), nothing internal.
 *
 * DESIGN
 * Threads and the GIL. Study.optimize() must not hold the GIL while the
 * pool runs, must run Python objectives on the pool's workers, and must see
 * Ctrl-C although Python runs signal handlers only on the main thread and
 * only between bytecodes. So optimize() starts one plain pthread, the
 * *owner*, that calls fresh_study_optimize() (the study's owner-thread
 * functions are called from it alone while it runs), and the calling thread
 * waits for it without the GIL, waking every 50 ms to take the GIL and call
 * PyErr_CheckSignals(). A KeyboardInterrupt (or any exception a signal
 * handler raises) calls fresh_study_force_stop(): no new jobs, running ones
 * see trial.report() return False, the owner tells every job (the study
 * file stays consistent) and returns; then the exception is re-raised in
 * the caller. Each worker takes the GIL (PyGILState_Ensure) around the
 * objective only, so objectives that release it (NumPy, PyTorch, time.sleep)
 * overlap; the owner takes it only to run the `callbacks`. The owner thread
 * and the workers start with every signal blocked, so SIGINT reaches the
 * main thread.
 *
 * While optimize() runs, the Study object is *busy*: methods that read it
 * work only from the callbacks (they run on the owner thread, between jobs);
 * anything else raises fresh.Error(ESTATE). Study.stop() works from any
 * thread (fresh_study_force_stop is atomic).
 *
 * Objects. A Study holds a strong reference to its Space (the C study
 * borrows the space), and a Trial to its Study (the C trial is owned by the
 * study). A Trial is valid while its objective runs (optimize) or until
 * Study.tell (ask/tell); afterwards its pointer is cleared and every method
 * raises, so a Trial kept by the user can never touch freed memory.
 *
 * Errors. Every negative status becomes fresh.Error(status, name, message)
 * with the C object's message; argument type errors are TypeError /
 * ValueError raised before any C call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <fresh/fresh.h>

/* ------------------------------------------------------------------ types */

typedef struct {
    PyObject_HEAD
    fresh_space *sp;
    int used; /* borrowed by a study: no more changes */
} SpaceObject;

typedef struct RunCtx RunCtx;

typedef struct {
    PyObject_HEAD
    fresh_study *st;
    PyObject *space;      /* SpaceObject, strong */
    int snapshot;
    int busy;             /* optimize() running */
    pthread_t owner;      /* the owner thread while busy */
    RunCtx *run;          /* while busy */
    RunCtx *runs;         /* every run so far (see RunCtx) */
    PyObject *outstanding;/* set of Trial objects from ask(), not told yet */
    int last_status;      /* of the last ask / optimize */
    double *rungs;
    size_t n_rungs;
} StudyObject;

typedef struct {
    PyObject_HEAD
    fresh_trial *t;       /* NULL once the trial has ended */
    StudyObject *study;   /* strong for a trial from ask(); borrowed in an
                             objective (so that deleting the Study waits for
                             an abandoned objective instead of the objective
                             keeping it alive); used only while t is set */
    PyObject *params;     /* cached dict */
    int asked;            /* from ask() (else from optimize) */
    int reported;         /* report() was called */
    double last_step;     /* its last step */
} TrialObject;

/* One optimize() call. Heap-allocated and kept until the Study is freed: an
 * objective that optimize abandoned (job time limit, or a stop request it
 * did not heed) may still run, and its trampoline reads the context. */
struct RunCtx {
    RunCtx *next;         /* the Study's earlier runs */
    int finished;         /* optimize() returned (read and written with the GIL) */
    StudyObject *so;
    PyObject *objective;  /* strong, until the Study is freed */
    PyObject *callbacks;  /* list or NULL */
    PyObject *exc;        /* first exception to re-raise (owned), or NULL */
    int result;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static PyTypeObject SpaceType, StudyType, TrialType;

/* 1 on the owner thread while it runs the callbacks of optimize(). */
static _Thread_local int in_callback;
/* On a worker thread: the study whose objective it runs. */
static _Thread_local StudyObject *in_objective_of;

/* The pending exception as one object with its traceback (NULL if none);
 * the error indicator is cleared. (PyErr_GetRaisedException is 3.12+.) */
static PyObject *take_exception(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (!type)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

/* Raises exception object `exc` again (steals the reference). */
static void give_exception(PyObject *exc)
{
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, PyException_GetTraceback(exc));
}
static PyObject *FreshError;           /* fresh.Error */
static PyObject *space_class;          /* class used for spaces we create (a subclass) */

/* ----------------------------------------------------------------- errors */

/* Raises fresh.Error for a negative status with `msg`; returns NULL. */
static PyObject *raise_status(int status, const char *msg)
{
    const char *name = fresh_status_name(status);
    if (!name)
        name = "UNKNOWN";
    if (!msg || !*msg)
        msg = fresh_strerror(status);
    PyObject *exc = PyObject_CallFunction(FreshError, "s", msg);
    if (!exc)
        return NULL;
    PyObject *st = PyLong_FromLong(status), *nm = PyUnicode_FromString(name),
             *ms = PyUnicode_FromString(msg);
    if (st && nm && ms && PyObject_SetAttrString(exc, "status", st) == 0 &&
        PyObject_SetAttrString(exc, "name", nm) == 0 && PyObject_SetAttrString(exc, "message", ms) == 0)
        PyErr_SetObject(FreshError, exc);
    Py_XDECREF(st);
    Py_XDECREF(nm);
    Py_XDECREF(ms);
    Py_DECREF(exc);
    return NULL;
}

/* raise_status with a printf-style message (PyUnicode_FromFormat's %s, %R...). */
static PyObject *raise_fmt(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PyObject *m = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (!m)
        return NULL;
    const char *u = PyUnicode_AsUTF8(m);
    if (u)
        raise_status(status, u);
    Py_DECREF(m);
    return NULL;
}

/* [item(ctx, 0), ..., item(ctx, n - 1)]; NULL if an item fails. */
static PyObject *list_of(size_t n, PyObject *(*item)(void *ctx, size_t i), void *ctx)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; l && i < n; i++) {
        PyObject *v = item(ctx, i);
        if (!v)
            Py_CLEAR(l);
        else
            PyList_SET_ITEM(l, (Py_ssize_t)i, v);
    }
    return l;
}

static PyObject *double_item(void *ctx, size_t i) { return PyFloat_FromDouble(((const double *)ctx)[i]); }

/* ---------------------------------------------------- values <-> Python */

static int ordinal_all_integral(const fresh_param_info *pi)
{
    for (size_t k = 0; k < pi->n_levels; k++)
        if (pi->ordinal_values[k] != floor(pi->ordinal_values[k]) || fabs(pi->ordinal_values[k]) > 9e15)
            return 0;
    return 1;
}

/* The natural Python value of parameter i at value-space v (not NaN). */
static PyObject *value_to_py(const fresh_space *sp, size_t i, double v)
{
    fresh_param_info pi;
    if (fresh_space_param(sp, i, &pi) != FRESH_OK)
        return raise_status(FRESH_EINVAL, "parameter index out of range");
    switch (pi.type) {
    case FRESH_PARAM_FLOAT:
        return PyFloat_FromDouble(v);
    case FRESH_PARAM_INT:
        return PyLong_FromDouble(v);
    default: {
        size_t k = (size_t)v;
        if (!(v >= 0) || k >= pi.n_levels)
            return raise_status(FRESH_EINVAL, "level index out of range");
        if (pi.ordinal_values) {
            double ov = pi.ordinal_values[k];
            return ordinal_all_integral(&pi) ? PyLong_FromDouble(ov) : PyFloat_FromDouble(ov);
        }
        return PyUnicode_FromString(pi.labels[k]);
    }
    }
}

/* {name: value} of the active parameters of x. */
static PyObject *config_to_dict(const fresh_space *sp, const double *x)
{
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    size_t dim = fresh_space_dim(sp);
    for (size_t i = 0; i < dim; i++) {
        if (isnan(x[i]))
            continue;
        fresh_param_info pi;
        fresh_space_param(sp, i, &pi);
        PyObject *v = value_to_py(sp, i, x[i]);
        if (!v || PyDict_SetItemString(d, pi.name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    return d;
}

/* A natural value (label, level, number) of parameter `name` -> value space. */
static int py_to_value(const fresh_space *sp, const char *name, PyObject *o, double *out)
{
    int i = fresh_space_index(sp, name);
    if (i < 0) {
        raise_fmt(FRESH_ENOTFOUND, "parameter '%s': no such parameter", name);
        return -1;
    }
    fresh_param_info pi;
    fresh_space_param(sp, (size_t)i, &pi);
    if (PyUnicode_Check(o)) {
        const char *s = PyUnicode_AsUTF8(o);
        if (!s)
            return -1;
        int k = (pi.type == FRESH_PARAM_CATEGORICAL || pi.type == FRESH_PARAM_ORDINAL)
                    ? fresh_space_level_index(sp, (size_t)i, s)
                    : FRESH_ENOTFOUND;
        if (k < 0) {
            PyErr_Format(PyExc_ValueError, "parameter '%s': '%s' is not one of its levels", name, s);
            return -1;
        }
        *out = k;
        return 0;
    }
    double v = PyFloat_AsDouble(o);
    if (v == -1.0 && PyErr_Occurred())
        return -1;
    if (pi.type == FRESH_PARAM_CATEGORICAL ||
        (pi.type == FRESH_PARAM_ORDINAL && !pi.ordinal_values)) {
        /* a number for a label: ConfigSpace-style numeric choices are text */
        PyObject *txt = PyObject_Str(o);
        if (!txt)
            return -1;
        int k = fresh_space_level_index(sp, (size_t)i, PyUnicode_AsUTF8(txt));
        Py_DECREF(txt);
        if (k < 0) {
            PyErr_Format(PyExc_ValueError, "parameter '%s': %R is not one of its levels", name, o);
            return -1;
        }
        *out = k;
        return 0;
    }
    if (pi.type == FRESH_PARAM_ORDINAL) {
        for (size_t k = 0; k < pi.n_levels; k++)
            if (pi.ordinal_values[k] == v) {
                *out = (double)k;
                return 0;
            }
        PyErr_Format(PyExc_ValueError, "parameter '%s': %R is not one of its levels", name, o);
        return -1;
    }
    *out = v;
    return 0;
}

/* ================================================================= Space */

static int Space_init(SpaceObject *self, PyObject *args, PyObject *kw)
{
    if (!PyArg_ParseTuple(args, "|O:Space", &(PyObject *){NULL}))
        return -1;
    (void)kw;
    if (!self->sp) {
        self->sp = fresh_space_create();
        if (!self->sp) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

static void Space_dealloc(SpaceObject *self)
{
    fresh_space_destroy(self->sp);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The space's own message for a failed call. */
static PyObject *space_error(SpaceObject *self, int rc)
{
    return raise_status(rc, fresh_space_errmsg(self->sp));
}

static int space_changeable(SpaceObject *self)
{
    if (!self->sp) {
        PyErr_SetString(PyExc_RuntimeError, "Space.__init__ was not called");
        return 0;
    }
    if (self->used) {
        raise_status(FRESH_ESTATE, "the space belongs to a study and can no longer change");
        return 0;
    }
    return 1;
}

static PyObject *Space_add_float(SpaceObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "low", "high", "log", NULL};
    const char *name;
    double lo, hi;
    int lg = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sdd|p:add_float", kwlist, &name, &lo, &hi, &lg) ||
        !space_changeable(self))
        return NULL;
    int rc = fresh_space_add_float(self->sp, name, lo, hi, lg);
    return rc ? space_error(self, rc) : Py_NewRef(Py_None);
}

static PyObject *Space_add_int(SpaceObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "low", "high", "log", NULL};
    const char *name;
    long lo, hi;
    int lg = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sll|p:add_int", kwlist, &name, &lo, &hi, &lg) ||
        !space_changeable(self))
        return NULL;
    int rc = fresh_space_add_int(self->sp, name, lo, hi, lg);
    return rc ? space_error(self, rc) : Py_NewRef(Py_None);
}

/* choices/levels: a sequence of str (labels) or of numbers (numeric ordinal). */
static PyObject *add_levels(SpaceObject *self, const char *name, PyObject *seq, int ordinal)
{
    PyObject *fast = PySequence_Fast(seq, "choices must be a sequence");
    if (!fast)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    int all_str = 1, all_num = 1;
    for (Py_ssize_t k = 0; k < n; k++) {
        all_str &= PyUnicode_Check(items[k]);
        all_num &= !PyUnicode_Check(items[k]) && !PyBool_Check(items[k]) &&
                   (PyFloat_Check(items[k]) || PyLong_Check(items[k]));
    }
    PyObject *res = NULL;
    const char **labels = PyMem_Calloc((size_t)n + 1, sizeof *labels);
    double *vals = PyMem_Calloc((size_t)n + 1, sizeof *vals);
    if (!labels || !vals) {
        PyErr_NoMemory();
        goto done;
    }
    int rc;
    if (ordinal && all_num && n > 0) {
        for (Py_ssize_t k = 0; k < n; k++)
            vals[k] = PyFloat_AsDouble(items[k]);
        rc = fresh_space_add_ordinal(self->sp, name, (size_t)n, vals);
    } else {
        if (!all_str) {
            PyErr_Format(PyExc_TypeError, "parameter '%s': %s must be all strings%s", name,
                         ordinal ? "levels" : "choices", ordinal ? " or all numbers" : "");
            goto done;
        }
        for (Py_ssize_t k = 0; k < n; k++)
            if (!(labels[k] = PyUnicode_AsUTF8(items[k])))
                goto done;
        rc = ordinal ? fresh_space_add_ordinal_labels(self->sp, name, (size_t)n, labels)
                     : fresh_space_add_categorical(self->sp, name, (size_t)n, labels);
    }
    res = rc ? space_error(self, rc) : Py_NewRef(Py_None);
done:
    PyMem_Free(labels);
    PyMem_Free(vals);
    Py_DECREF(fast);
    return res;
}

static PyObject *Space_add_categorical(SpaceObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "choices", NULL};
    const char *name;
    PyObject *seq;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sO:add_categorical", kwlist, &name, &seq) ||
        !space_changeable(self))
        return NULL;
    return add_levels(self, name, seq, 0);
}

static PyObject *Space_add_ordinal(SpaceObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"name", "levels", NULL};
    const char *name;
    PyObject *seq;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sO:add_ordinal", kwlist, &name, &seq) ||
        !space_changeable(self))
        return NULL;
    return add_levels(self, name, seq, 1);
}

static PyObject *Space_set_default(SpaceObject *self, PyObject *args)
{
    const char *name;
    PyObject *v;
    double x;
    if (!PyArg_ParseTuple(args, "sO:set_default", &name, &v) || !space_changeable(self) ||
        py_to_value(self->sp, name, v, &x) < 0)
        return NULL;
    int rc = fresh_space_set_default(self->sp, name, x);
    return rc ? space_error(self, rc) : Py_NewRef(Py_None);
}

/* values: one natural value or a sequence of them -> value space (PyMem). */
static double *values_of(SpaceObject *self, const char *name, PyObject *values, size_t *n)
{
    PyObject *fast = (PyUnicode_Check(values) || !PySequence_Check(values))
                         ? PyTuple_Pack(1, values)
                         : PySequence_Fast(values, "values must be a sequence");
    if (!fast)
        return NULL;
    Py_ssize_t m = PySequence_Fast_GET_SIZE(fast);
    double *x = PyMem_Calloc((size_t)m + 1, sizeof *x);
    if (!x) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t k = 0; k < m; k++)
        if (py_to_value(self->sp, name, PySequence_Fast_GET_ITEM(fast, k), &x[k]) < 0) {
            PyMem_Free(x);
            Py_DECREF(fast);
            return NULL;
        }
    Py_DECREF(fast);
    *n = (size_t)m;
    return x;
}

static PyObject *Space_add_condition(SpaceObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"child", "parent", "values", "new_group", NULL};
    const char *child, *parent;
    PyObject *values;
    int new_group = 0;
    size_t n = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "ssO|p:add_condition", kwlist, &child, &parent,
                                     &values, &new_group) ||
        !space_changeable(self))
        return NULL;
    if (fresh_space_index(self->sp, parent) < 0) {
        int rc = fresh_space_add_condition(self->sp, child, parent, 0, NULL, new_group);
        return space_error(self, rc);
    }
    double *x = values_of(self, parent, values, &n);
    if (!x)
        return NULL;
    int rc = fresh_space_add_condition(self->sp, child, parent, n, x, new_group);
    PyMem_Free(x);
    return rc ? space_error(self, rc) : Py_NewRef(Py_None);
}

static PyObject *Space_add_forbidden(SpaceObject *self, PyObject *arg)
{
    if (!space_changeable(self))
        return NULL;
    PyObject *items = PyMapping_Check(arg) && !PySequence_Check(arg) ? PyMapping_Items(arg)
                                                                      : PySequence_List(arg);
    if (!items)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(items);
    fresh_clause *cl = PyMem_Calloc((size_t)n + 1, sizeof *cl);
    PyObject *res = NULL;
    Py_ssize_t k = 0;
    if (!cl) {
        PyErr_NoMemory();
        goto done;
    }
    for (; k < n; k++) {
        PyObject *pair = PyList_GET_ITEM(items, k);
        PyObject *pname, *vals;
        if (!PyArg_ParseTuple(pair, "UO:add_forbidden clause (name, values)", &pname, &vals))
            goto done;
        cl[k].name = PyUnicode_AsUTF8(pname);
        if (fresh_space_index(self->sp, cl[k].name) < 0) {
            res = raise_fmt(FRESH_ENOTFOUND, "forbidden clause: no parameter '%s'", cl[k].name);
            goto done;
        }
        double *x = values_of(self, cl[k].name, vals, &cl[k].n_values);
        if (!x)
            goto done;
        cl[k].values = x;
    }
    int rc = fresh_space_add_forbidden(self->sp, (size_t)n, cl);
    res = rc ? space_error(self, rc) : Py_NewRef(Py_None);
done:
    if (cl)
        for (Py_ssize_t j = 0; j < k; j++)
            PyMem_Free((void *)cl[j].values);
    PyMem_Free(cl);
    Py_DECREF(items);
    return res;
}

/* _read(kind, text_or_path, source): kind "file" | "json" | "configspace". */
static PyObject *Space_read(SpaceObject *self, PyObject *args)
{
    const char *kind, *text, *source = NULL;
    if (!PyArg_ParseTuple(args, "ss|z:_read", &kind, &text, &source) || !space_changeable(self))
        return NULL;
    int rc;
    if (!strcmp(kind, "file"))
        rc = fresh_space_read_file(self->sp, text);
    else if (!strcmp(kind, "json"))
        rc = fresh_space_read_json_string(self->sp, text, source);
    else if (!strcmp(kind, "configspace"))
        rc = fresh_space_read_configspace_string(self->sp, text, source);
    else
        return PyErr_Format(PyExc_ValueError, "unknown kind '%s'", kind);
    return rc ? space_error(self, rc) : Py_NewRef(Py_None);
}

static PyObject *Space_to_json(SpaceObject *self, PyObject *Py_UNUSED(ig))
{
    char *out = NULL;
    int rc = fresh_space_write_json(self->sp, &out);
    if (rc)
        return raise_status(rc, "cannot write the space");
    PyObject *r = PyUnicode_FromString(out);
    free(out);
    return r;
}

static Py_ssize_t Space_len(SpaceObject *self) { return (Py_ssize_t)fresh_space_dim(self->sp); }

static PyObject *Space_params(SpaceObject *self, void *Py_UNUSED(c))
{
    static const char *types[] = {"float", "int", "categorical", "ordinal"};
    size_t dim = fresh_space_dim(self->sp);
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < dim; i++) {
        fresh_param_info pi;
        fresh_space_param(self->sp, i, &pi);
        PyObject *d = Py_BuildValue("{s:s,s:s,s:O}", "name", pi.name, "type", types[pi.type],
                                    "conditional", pi.has_condition ? Py_True : Py_False);
        if (d && pi.type <= FRESH_PARAM_INT) {
            PyObject *lo = value_to_py(self->sp, i, pi.low), *hi = value_to_py(self->sp, i, pi.high);
            if (!lo || !hi || PyDict_SetItemString(d, "low", lo) || PyDict_SetItemString(d, "high", hi) ||
                PyDict_SetItemString(d, "log", pi.log_scale ? Py_True : Py_False))
                Py_CLEAR(d);
            Py_XDECREF(lo);
            Py_XDECREF(hi);
        } else if (d) {
            PyObject *lv = PyList_New((Py_ssize_t)pi.n_levels);
            for (size_t k = 0; lv && k < pi.n_levels; k++) {
                PyObject *v = value_to_py(self->sp, i, (double)k);
                if (!v)
                    Py_CLEAR(lv);
                else
                    PyList_SET_ITEM(lv, (Py_ssize_t)k, v);
            }
            if (!lv || PyDict_SetItemString(d, pi.type == FRESH_PARAM_CATEGORICAL ? "choices" : "levels", lv))
                Py_CLEAR(d);
            Py_XDECREF(lv);
        }
        if (d && pi.has_default) {
            PyObject *dv = value_to_py(self->sp, i, pi.default_value);
            if (!dv || PyDict_SetItemString(d, "default", dv))
                Py_CLEAR(d);
            Py_XDECREF(dv);
        }
        if (!d || PyList_Append(list, d)) {
            Py_XDECREF(d);
            Py_CLEAR(list);
        }
        Py_XDECREF(d);
    }
    return list;
}

static PyObject *Space_names(SpaceObject *self, void *Py_UNUSED(c))
{
    size_t dim = fresh_space_dim(self->sp);
    PyObject *t = PyTuple_New((Py_ssize_t)dim);
    for (size_t i = 0; t && i < dim; i++) {
        fresh_param_info pi;
        fresh_space_param(self->sp, i, &pi);
        PyObject *s = PyUnicode_FromString(pi.name);
        if (!s) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
    }
    return t;
}

static PyObject *Space_default(SpaceObject *self, PyObject *Py_UNUSED(ig))
{
    size_t dim = fresh_space_dim(self->sp);
    double *x = PyMem_Calloc(dim + 1, sizeof *x);
    if (!x)
        return PyErr_NoMemory();
    int rc = fresh_space_default_config(self->sp, x);
    PyObject *r = rc ? raise_status(rc, "the default configuration is forbidden")
                     : config_to_dict(self->sp, x);
    PyMem_Free(x);
    return r;
}

static PyObject *Space_sample(SpaceObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"seed", "index", NULL};
    unsigned long long seed = FRESH_DEFAULT_SEED, index = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|KK:sample", kwlist, &seed, &index))
        return NULL;
    size_t dim = fresh_space_dim(self->sp);
    double *x = PyMem_Calloc(dim + 1, sizeof *x);
    gsl_rng *rng = fresh_rng_stream_create(seed, index, 0);
    PyObject *r = NULL;
    if (!x || !rng)
        PyErr_NoMemory();
    else {
        int rc = fresh_space_sample(self->sp, rng, x);
        r = rc ? raise_status(rc, "no valid configuration could be sampled") : config_to_dict(self->sp, x);
    }
    gsl_rng_free(rng);
    PyMem_Free(x);
    return r;
}

static PyObject *Space_repr(SpaceObject *self)
{
    return PyUnicode_FromFormat("<fresh.Space with %zu parameters>", fresh_space_dim(self->sp));
}

static PyMethodDef Space_methods[] = {
    {"add_float", (PyCFunction)(void (*)(void))Space_add_float, METH_VARARGS | METH_KEYWORDS,
     "add_float(name, low, high, log=False)\n\nAdds a float in [low, high] (log-uniform when log)."},
    {"add_int", (PyCFunction)(void (*)(void))Space_add_int, METH_VARARGS | METH_KEYWORDS,
     "add_int(name, low, high, log=False)\n\nAdds an integer in [low, high], both included."},
    {"add_categorical", (PyCFunction)(void (*)(void))Space_add_categorical, METH_VARARGS | METH_KEYWORDS,
     "add_categorical(name, choices)\n\nAdds an unordered choice among distinct strings."},
    {"add_ordinal", (PyCFunction)(void (*)(void))Space_add_ordinal, METH_VARARGS | METH_KEYWORDS,
     "add_ordinal(name, levels)\n\nAdds ordered levels: strictly increasing numbers, or distinct strings."},
    {"set_default", (PyCFunction)Space_set_default, METH_VARARGS,
     "set_default(name, value)\n\nSets a parameter's default (a number, a choice or a level)."},
    {"add_condition", (PyCFunction)(void (*)(void))Space_add_condition, METH_VARARGS | METH_KEYWORDS,
     "add_condition(child, parent, values, new_group=False)\n\n"
     "child is active only when parent has one of `values`. Clauses added with\n"
     "new_group=False are ANDed with the child's current group; new_group=True\n"
     "starts a group ORed with the earlier ones."},
    {"add_forbidden", (PyCFunction)Space_add_forbidden, METH_O,
     "add_forbidden(clauses)\n\nForbids the configurations where every clause holds; clauses is a\n"
     "dict {name: values} or a list of (name, values) pairs."},
    {"_read", (PyCFunction)Space_read, METH_VARARGS, "_read(kind, text_or_path, source=None)"},
    {"to_json", (PyCFunction)Space_to_json, METH_NOARGS,
     "to_json() -> str\n\nThe space in fresh's JSON format (canonical text)."},
    {"default", (PyCFunction)Space_default, METH_NOARGS,
     "default() -> dict\n\nThe default configuration (defaults, else the middle of each range)."},
    {"sample", (PyCFunction)(void (*)(void))Space_sample, METH_VARARGS | METH_KEYWORDS,
     "sample(seed=FRESH_DEFAULT_SEED, index=0) -> dict\n\nA uniform random configuration, reproducible from (seed, index)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Space_getset[] = {
    {"params", (getter)Space_params, NULL, "The parameters, as a list of dicts.", NULL},
    {"names", (getter)Space_names, NULL, "Parameter names, in order.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PySequenceMethods Space_as_seq = {.sq_length = (lenfunc)Space_len};

static PyTypeObject SpaceType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fresh._fresh.Space",
    .tp_basicsize = sizeof(SpaceObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "A search space (the C fresh_space): typed parameters, conditions, forbidden clauses.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Space_init,
    .tp_dealloc = (destructor)Space_dealloc,
    .tp_methods = Space_methods,
    .tp_getset = Space_getset,
    .tp_as_sequence = &Space_as_seq,
    .tp_repr = (reprfunc)Space_repr,
};

/* ================================================================= Trial */

static TrialObject *trial_new(StudyObject *so, fresh_trial *t, int asked)
{
    TrialObject *to = PyObject_GC_New(TrialObject, &TrialType);
    if (!to)
        return NULL;
    to->t = t;
    to->study = asked ? (StudyObject *)Py_NewRef(so) : so;
    to->params = NULL;
    to->asked = asked;
    to->reported = 0;
    to->last_step = 0;
    PyObject_GC_Track(to);
    return to;
}

static int Trial_traverse(TrialObject *self, visitproc visit, void *arg)
{
    if (self->asked)
        Py_VISIT(self->study);
    Py_VISIT(self->params);
    return 0;
}

static int Trial_clear(TrialObject *self)
{
    if (self->asked)
        Py_CLEAR(self->study);
    self->study = NULL;
    Py_CLEAR(self->params);
    return 0;
}

static void Trial_dealloc(TrialObject *self)
{
    PyObject_GC_UnTrack(self);
    Trial_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int trial_live(TrialObject *self)
{
    if (!self->t) {
        raise_status(FRESH_ESTATE, "this trial has ended (its objective returned, or it was told)");
        return 0;
    }
    return 1;
}

static PyObject *Trial_params(TrialObject *self, void *Py_UNUSED(c))
{
    if (!self->params) {
        if (!trial_live(self))
            return NULL;
        self->params = config_to_dict(((SpaceObject *)self->study->space)->sp, fresh_trial_values(self->t));
        if (!self->params)
            return NULL;
    }
    return Py_NewRef(self->params);
}

static PyObject *Trial_getitem(TrialObject *self, PyObject *key)
{
    PyObject *p = Trial_params(self, NULL);
    if (!p)
        return NULL;
    PyObject *v = PyDict_GetItemWithError(p, key);
    if (!v && !PyErr_Occurred())
        PyErr_Format(PyExc_KeyError, "%R (unknown or inactive parameter)", key);
    Py_XINCREF(v);
    Py_DECREF(p);
    return v;
}

#define TRIAL_GETTER(fn, expr)                                                 \
    static PyObject *fn(TrialObject *self, void *Py_UNUSED(c))                 \
    {                                                                          \
        if (!trial_live(self))                                                 \
            return NULL;                                                       \
        return expr;                                                           \
    }
TRIAL_GETTER(Trial_budget, PyFloat_FromDouble(fresh_trial_budget(self->t)))
TRIAL_GETTER(Trial_resume_from, PyFloat_FromDouble(fresh_trial_resume_from(self->t)))
TRIAL_GETTER(Trial_config_id, PyLong_FromUnsignedLongLong(fresh_trial_config_id(self->t)))
TRIAL_GETTER(Trial_job_id, PyLong_FromUnsignedLongLong(fresh_trial_job_id(self->t)))
TRIAL_GETTER(Trial_seed, PyLong_FromUnsignedLongLong(fresh_trial_seed(self->t)))
TRIAL_GETTER(Trial_should_stop, PyBool_FromLong(fresh_trial_should_stop(self->t)))

static PyObject *Trial_rungs(TrialObject *self, void *Py_UNUSED(c))
{
    if (!trial_live(self))
        return NULL;
    PyObject *l = PyList_New(0);
    for (double r = fresh_trial_next_rung(self->t, fresh_trial_resume_from(self->t)); l && !isnan(r);
         r = fresh_trial_next_rung(self->t, r)) {
        PyObject *f = PyFloat_FromDouble(r);
        if (!f || PyList_Append(l, f))
            Py_CLEAR(l);
        Py_XDECREF(f);
    }
    return l;
}

static PyObject *Trial_next_rung(TrialObject *self, PyObject *arg)
{
    double step = PyFloat_AsDouble(arg);
    if ((step == -1.0 && PyErr_Occurred()) || !trial_live(self))
        return NULL;
    double r = fresh_trial_next_rung(self->t, step);
    if (isnan(r))
        Py_RETURN_NONE;
    return PyFloat_FromDouble(r);
}

static PyObject *Trial_checkpoint(TrialObject *self, void *Py_UNUSED(c))
{
    if (!trial_live(self))
        return NULL;
    size_t len = 0;
    const void *p = fresh_trial_checkpoint(self->t, &len);
    if (!p)
        Py_RETURN_NONE;
    return PyBytes_FromStringAndSize(p, (Py_ssize_t)len);
}

static PyObject *Trial_report(TrialObject *self, PyObject *args)
{
    double step, loss;
    if (!PyArg_ParseTuple(args, "dd:report", &step, &loss) || !trial_live(self))
        return NULL;
    self->reported = 1;
    self->last_step = step;
    return PyBool_FromLong(fresh_trial_report(self->t, step, loss));
}

static PyObject *Trial_save_checkpoint(TrialObject *self, PyObject *arg)
{
    if (!trial_live(self))
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    int rc = fresh_trial_save_checkpoint(self->t, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return rc ? raise_status(rc, "cannot save the checkpoint") : Py_NewRef(Py_None);
}

static PyObject *Trial_fail(TrialObject *self, PyObject *args)
{
    const char *msg;
    if (!PyArg_ParseTuple(args, "s:fail", &msg) || !trial_live(self))
        return NULL;
    fresh_trial_fail(self->t, msg);
    Py_RETURN_NONE;
}

static PyObject *Trial_set_loss(TrialObject *self, PyObject *args)
{
    double loss;
    if (!PyArg_ParseTuple(args, "d:set_loss", &loss) || !trial_live(self))
        return NULL;
    fresh_trial_set_loss(self->t, loss);
    Py_RETURN_NONE;
}

static PyObject *Trial_repr(TrialObject *self)
{
    if (!self->t)
        return PyUnicode_FromString("<fresh.Trial (ended)>");
    char buf[128];
    snprintf(buf, sizeof buf, "<fresh.Trial job %llu config %llu budget %g from %g>",
             (unsigned long long)fresh_trial_job_id(self->t),
             (unsigned long long)fresh_trial_config_id(self->t), fresh_trial_budget(self->t),
             fresh_trial_resume_from(self->t));
    return PyUnicode_FromString(buf);
}

static PyMethodDef Trial_methods[] = {
    {"report", (PyCFunction)Trial_report, METH_VARARGS,
     "report(step, loss) -> bool\n\n"
     "Records the loss reached at `step` (a budget between resume_from and\n"
     "budget, e.g. the epoch). Returns False when the job must stop: stopped\n"
     "early (it cannot reach its stage's promotion quota), past its time limit,\n"
     "or the study is stopping (Ctrl-C, Study.stop, wall time). A NaN loss marks\n"
     "the job failed and returns False."},
    {"save_checkpoint", (PyCFunction)Trial_save_checkpoint, METH_O,
     "save_checkpoint(data)\n\nStores bytes (any buffer) for this configuration; the next job of the\n"
     "configuration (a promotion) reads them back as trial.checkpoint."},
    {"next_rung", (PyCFunction)Trial_next_rung, METH_O,
     "next_rung(step) -> float | None\n\nThe smallest rung budget r with step < r <= budget, or None: for\n"
     "objectives whose step is not an epoch, report at each rung."},
    {"fail", (PyCFunction)Trial_fail, METH_VARARGS,
     "fail(message)\n\nMarks the job failed with a message (the study goes on)."},
    {"set_loss", (PyCFunction)Trial_set_loss, METH_VARARGS,
     "set_loss(loss)\n\nSets the job's final loss (the objective's return value does the same)."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Trial_getset[] = {
    {"params", (getter)Trial_params, NULL, "The configuration: {name: value} of the active parameters.", NULL},
    {"budget", (getter)Trial_budget, NULL, "The budget to train up to (e.g. epochs).", NULL},
    {"resume_from", (getter)Trial_resume_from, NULL,
     "The budget this configuration already reached in an earlier job (0 for a new one).", NULL},
    {"config_id", (getter)Trial_config_id, NULL, "Configuration id (0, 1, ... in creation order).", NULL},
    {"job_id", (getter)Trial_job_id, NULL, "Job id.", NULL},
    {"seed", (getter)Trial_seed, NULL, "The study's seed (combine with config_id for own randomness).", NULL},
    {"should_stop", (getter)Trial_should_stop, NULL, "True once the job has been asked to stop.", NULL},
    {"checkpoint", (getter)Trial_checkpoint, NULL,
     "Bytes saved by the previous job of this configuration, or None.", NULL},
    {"rungs", (getter)Trial_rungs, NULL,
     "The Hyperband rung budgets in (resume_from, budget]: report at these steps\n"
     "so that early stopping, the adaptive scheduler and the BOHB hedge see them.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMappingMethods Trial_as_map = {.mp_subscript = (binaryfunc)Trial_getitem};

static PyTypeObject TrialType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fresh.Trial",
    .tp_basicsize = sizeof(TrialObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "One job of a study: a configuration trained up to `budget`, continuing from\n"
              "`resume_from`. Valid while its objective runs (or until Study.tell).",
    .tp_traverse = (traverseproc)Trial_traverse,
    .tp_clear = (inquiry)Trial_clear,
    .tp_dealloc = (destructor)Trial_dealloc,
    .tp_methods = Trial_methods,
    .tp_getset = Trial_getset,
    .tp_as_mapping = &Trial_as_map,
    .tp_repr = (reprfunc)Trial_repr,
};

/* ================================================================= Study */

/* Who may call now: read-only methods work when idle or from a callback
 * (owner thread); changing ones only when idle. */
static int study_ready(StudyObject *self, int read_only)
{
    if (!self->st) {
        PyErr_SetString(PyExc_RuntimeError, "Study.__init__ was not called");
        return 0;
    }
    if (self->busy) {
        if (read_only && in_callback)
            return 1;
        raise_status(FRESH_ESTATE, read_only
                                       ? "optimize() is running: read the study from a callback or after it returns"
                                       : "optimize() is running");
        return 0;
    }
    return 1;
}

static PyObject *study_error(StudyObject *self, int rc)
{
    return raise_status(rc, fresh_study_errmsg(self->st));
}

static const char *const JOB_STATUS[] = {"pending", "completed", "stopped", "failed"};

static PyObject *report_item(void *ctx, size_t k)
{
    const fresh_job_info *j = ctx;
    return Py_BuildValue("(dd)", j->report_steps[k], j->report_losses[k]);
}

static PyObject *job_to_dict(StudyObject *self, size_t i)
{
    fresh_job_info j;
    if (fresh_study_job(self->st, i, &j) != FRESH_OK)
        return raise_status(FRESH_EINVAL, "job index out of range");
    const fresh_space *sp = ((SpaceObject *)self->space)->sp;
    PyObject *params = config_to_dict(sp, fresh_study_config(self->st, j.config_id));
    PyObject *reports = list_of(j.n_reports, report_item, &j);
    PyObject *d = NULL;
    if (params && reports)
        d = Py_BuildValue("{s:K,s:K,s:O,s:l,s:i,s:d,s:d,s:d,s:d,s:d,s:s,s:z,s:s,s:O,s:d,s:d,s:i,s:O}",
                          "job_id", (unsigned long long)j.job_id, "config_id",
                          (unsigned long long)j.config_id, "params", params, "bracket", j.bracket,
                          "stage", j.stage, "budget", j.budget, "resume_from", j.resume_from,
                          "reached", j.reached, "cost", j.cost, "loss", j.loss, "status",
                          JOB_STATUS[j.status], "error",
                          j.status == FRESH_JOB_FAILED ? fresh_status_name(j.error) : NULL, "message",
                          j.message, "reports", reports, "start_time", j.start_time, "end_time",
                          j.end_time, "worker", j.worker, "model_based", j.model_based ? Py_True : Py_False);
    Py_XDECREF(params);
    Py_XDECREF(reports);
    return d;
}

/* ---- construction ---- */

typedef enum { K_DOUBLE, K_SIZE, K_LONG, K_BOOL, K_SEED, K_TARGET, K_SAMPLER, K_SCHEDULER, K_BRACKETS } ktype;
typedef struct {
    const char *name;
    ktype type;
    size_t off;
} kopt;

#define P(f) offsetof(fresh_study_params, f)
static const kopt STUDY_OPTS[] = {
    {"min_budget", K_DOUBLE, P(min_budget)},
    {"max_budget", K_DOUBLE, P(max_budget)},
    {"eta", K_DOUBLE, P(eta)},
    {"brackets", K_BRACKETS, P(bracket_formula)},
    {"scheduler", K_SCHEDULER, P(scheduler)},
    {"sampler", K_SAMPLER, P(sampler)},
    {"workers", K_SIZE, P(workers)},
    {"seed", K_SEED, P(seed)},
    {"early_stopping", K_BOOL, P(early_stopping)},
    {"job_time_limit", K_DOUBLE, P(job_time_limit)},
    {"max_paused", K_SIZE, P(max_paused)},
    {"paper_promotions", K_BOOL, P(paper_promotions)},
    {"max_open_brackets", K_SIZE, P(max_open_brackets)},
    {"max_brackets", K_LONG, P(max_brackets)},
    {"max_total_budget", K_DOUBLE, P(max_total_budget)},
    {"budget", K_DOUBLE, P(max_total_budget)},
    {"max_wall_time", K_DOUBLE, P(max_wall_time)},
    {"timeout", K_DOUBLE, P(max_wall_time)},
    {"target_loss", K_TARGET, P(target_loss)},
    {"random_fraction", K_DOUBLE, P(sampler_params.random_fraction)},
    {"num_samples", K_SIZE, P(sampler_params.num_samples)},
    {"top_n_percent", K_DOUBLE, P(sampler_params.top_n_percent)},
    {"bandwidth_factor", K_DOUBLE, P(sampler_params.bandwidth_factor)},
    {"min_bandwidth", K_DOUBLE, P(sampler_params.min_bandwidth)},
    {"min_points_in_model", K_SIZE, P(sampler_params.min_points_in_model)},
    {"bandwidth_floor", K_DOUBLE, P(sampler_params.bandwidth_floor)},
    {"hedge_tau", K_DOUBLE, P(sampler_params.hedge_tau)},
    {NULL, K_DOUBLE, 0}};
#undef P

/* Sets one option `name` in *p from o (None = leave as is). 1 if the name is
 * an option, 0 if not, -1 on error. `only` limits the names (NULL = all). */
static int set_opt(fresh_study_params *p, const char *name, PyObject *o, const char *const *only)
{
    const kopt *k = STUDY_OPTS;
    while (k->name && strcmp(k->name, name))
        k++;
    if (!k->name)
        return 0;
    if (only) {
        while (*only && strcmp(*only, name))
            only++;
        if (!*only)
            return 0;
    }
    if (o == Py_None)
        return k->type == K_TARGET ? (*(double *)((char *)p + k->off) = NAN, 1) : 1;
    char *f = (char *)p + k->off;
    switch (k->type) {
    case K_DOUBLE:
    case K_TARGET: {
        double v = PyFloat_AsDouble(o);
        if (v == -1.0 && PyErr_Occurred())
            return -1;
        *(double *)f = v;
        return 1;
    }
    case K_SIZE: {
        Py_ssize_t v = PyLong_AsSsize_t(o);
        if (v == -1 && PyErr_Occurred())
            return -1;
        if (v < 0) {
            PyErr_Format(PyExc_ValueError, "%s: must be >= 0, got %zd", name, v);
            return -1;
        }
        *(size_t *)f = (size_t)v;
        return 1;
    }
    case K_LONG: {
        long v = PyLong_AsLong(o);
        if (v == -1 && PyErr_Occurred())
            return -1;
        *(long *)f = v;
        return 1;
    }
    case K_BOOL: {
        int v = PyObject_IsTrue(o);
        if (v < 0)
            return -1;
        *(int *)f = v;
        return 1;
    }
    case K_SEED: {
        unsigned long long v = PyLong_AsUnsignedLongLong(o);
        if (v == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        *(uint64_t *)f = v;
        return 1;
    }
    default: {
        const char *s = PyUnicode_Check(o) ? PyUnicode_AsUTF8(o) : NULL;
        if (!s) {
            PyErr_Format(PyExc_TypeError, "%s: expected a name (str)", name);
            return -1;
        }
        if (k->type == K_SAMPLER) {
            const fresh_sampler_type *t = fresh_sampler_find(s);
            if (!t)
                goto unknown;
            *(const fresh_sampler_type **)f = t;
        } else if (k->type == K_SCHEDULER) {
            const fresh_scheduler_type *t = fresh_scheduler_find(s);
            if (!t)
                goto unknown;
            *(const fresh_scheduler_type **)f = t;
        } else {
            if (!strcmp(s, "paper"))
                *(fresh_bracket_formula *)f = FRESH_BRACKETS_PAPER;
            else if (!strcmp(s, "floor"))
                *(fresh_bracket_formula *)f = FRESH_BRACKETS_FLOOR;
            else
                goto unknown;
        }
        return 1;
    unknown:
        raise_fmt(FRESH_EINVAL, "%s: unknown name '%s'", name, s);
        return -1;
    }
    }
}

static void on_job_cb(const fresh_study *st, const fresh_job_info *job, void *user);

static int study_attach(StudyObject *self, PyObject *space, fresh_study *st)
{
    self->st = st;
    self->space = Py_NewRef(space);
    ((SpaceObject *)space)->used = 1;
    self->outstanding = PySet_New(NULL);
    if (!self->outstanding)
        return -1;
    const fresh_plan *plan = fresh_study_plan(st);
    self->n_rungs = (size_t)fresh_plan_s_max(plan) + 1;
    self->rungs = PyMem_Calloc(self->n_rungs, sizeof *self->rungs);
    if (!self->rungs) {
        PyErr_NoMemory();
        return -1;
    }
    fresh_plan_rungs(plan, self->rungs);
    fresh_study_params p;
    fresh_study_get_params(st, &p);
    p.on_job = on_job_cb;
    p.on_job_user = self;
    if (!self->snapshot && fresh_study_set_run_options(st, &p) != FRESH_OK) {
        study_error(self, -1);
        return -1;
    }
    return 0;
}

static int Study_init(StudyObject *self, PyObject *args, PyObject *kw)
{
    PyObject *space;
    if (self->st) {
        PyErr_SetString(PyExc_RuntimeError, "Study.__init__ called twice");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O!:Study", &SpaceType, &space))
        return -1;
    fresh_study_params p;
    fresh_study_params_default(&p);
    PyObject *storage = NULL;
    int resume = 0;
    /* a preset first: the other options refine it */
    PyObject *preset = kw ? PyDict_GetItemString(kw, "preset") : NULL;
    if (preset && preset != Py_None) {
        const char *name = PyUnicode_Check(preset) ? PyUnicode_AsUTF8(preset) : NULL;
        if (!name) {
            PyErr_SetString(PyExc_TypeError, "preset: expected a name (str)");
            return -1;
        }
        if (fresh_study_params_preset(&p, name) != FRESH_OK) {
            raise_fmt(FRESH_ENOTFOUND, "preset: unknown name '%s' (known: 'default', 'bohb-reference')", name);
            return -1;
        }
    }
    if (kw) {
        PyObject *key, *val;
        Py_ssize_t pos = 0;
        while (PyDict_Next(kw, &pos, &key, &val)) {
            const char *name = PyUnicode_AsUTF8(key);
            if (!name)
                return -1;
            if (!strcmp(name, "storage")) {
                storage = val;
                continue;
            }
            if (!strcmp(name, "preset"))
                continue;
            if (!strcmp(name, "resume")) {
                if ((resume = PyObject_IsTrue(val)) < 0)
                    return -1;
                continue;
            }
            int r = set_opt(&p, name, val, NULL);
            if (r < 0)
                return -1;
            if (r == 0) {
                PyErr_Format(PyExc_TypeError, "Study() got an unexpected keyword argument '%s'", name);
                return -1;
            }
        }
    }
    PyObject *path = NULL;
    if (storage && storage != Py_None && !PyUnicode_FSConverter(storage, &path))
        return -1;
    p.storage = path ? PyBytes_AS_STRING(path) : NULL;
    p.resume = resume;
    if (!((SpaceObject *)space)->sp || fresh_space_dim(((SpaceObject *)space)->sp) == 0) {
        Py_XDECREF(path);
        raise_status(FRESH_EINVAL, "space: has no parameters");
        return -1;
    }
    int status = 0;
    char err[512] = "";
    fresh_study *st;
    Py_BEGIN_ALLOW_THREADS
    st = fresh_study_create(((SpaceObject *)space)->sp, &p, &status, err, sizeof err);
    Py_END_ALLOW_THREADS
    Py_XDECREF(path);
    if (!st) {
        raise_status(status, err);
        return -1;
    }
    return study_attach(self, space, st);
}

static void Study_dealloc(StudyObject *self)
{
    PyObject_GC_UnTrack(self);
    /* a Trial holds its Study, so none is outstanding here; busy cannot be
     * either (optimize holds a reference) */
    /* Freed by the last Trial of an abandoned objective, on its worker: the
     * C study cannot be destroyed from inside its objective (it waits for
     * it); it is left to the process's end. */
    if (self->st && in_objective_of != self) {
        Py_BEGIN_ALLOW_THREADS
        fresh_study_destroy(self->st);
        Py_END_ALLOW_THREADS
    }
    while (self->runs) {
        RunCtx *r = self->runs;
        self->runs = r->next;
        Py_XDECREF(r->objective);
        Py_XDECREF(r->exc);
        PyMem_RawFree(r);
    }
    PyMem_Free(self->rungs);
    Py_CLEAR(self->outstanding);
    Py_CLEAR(self->space);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Study_traverse(StudyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->space);
    Py_VISIT(self->outstanding);
    for (RunCtx *r = self->runs; r; r = r->next)
        Py_VISIT(r->objective); /* a closure over the study makes a cycle */
    return 0;
}

static int Study_clear_refs(StudyObject *self)
{
    Py_CLEAR(self->outstanding);
    if (!self->busy)
        for (RunCtx *r = self->runs; r; r = r->next)
            Py_CLEAR(r->objective);
    return 0;
}

/* Study.load(path, snapshot=False): a study file, to read or continue. */
static PyObject *Study_load(PyTypeObject *cls, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "snapshot", NULL};
    PyObject *path = NULL;
    int snapshot = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|p:load", kwlist, PyUnicode_FSConverter, &path,
                                     &snapshot))
        return NULL;
    fresh_space *sp = NULL;
    int status = 0;
    char err[512] = "";
    fresh_study *st;
    Py_BEGIN_ALLOW_THREADS
    st = snapshot ? fresh_study_open_snapshot(PyBytes_AS_STRING(path), &sp, &status, err, sizeof err)
                  : fresh_study_open(PyBytes_AS_STRING(path), &sp, &status, err, sizeof err);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (!st)
        return raise_status(status, err);
    SpaceObject *so = (SpaceObject *)PyObject_CallNoArgs(space_class);
    StudyObject *self = so ? (StudyObject *)cls->tp_alloc(cls, 0) : NULL;
    if (!self) {
        Py_XDECREF(so);
        fresh_study_destroy(st);
        fresh_space_destroy(sp);
        return NULL;
    }
    fresh_space_destroy(so->sp);
    so->sp = sp; /* the Space owns it now; the Study holds the Space */
    self->snapshot = snapshot;
    int r = study_attach(self, (PyObject *)so, st);
    Py_DECREF(so);
    if (r < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* ---- optimize ---- */

/* A Python exception as "Type at file:line in func: message" for the job's
 * message; the exception is cleared. Returns 1 if it was not an Exception
 * (KeyboardInterrupt, SystemExit: the study must stop) and then keeps it in
 * *keep. */
static int objective_failed(fresh_trial *t, PyObject **keep)
{
    PyObject *exc = take_exception();
    char msg[256], where[160] = "";
    PyObject *tb = PyException_GetTraceback(exc);
    if (tb) {
        PyTracebackObject *last = (PyTracebackObject *)tb;
        while (last->tb_next)
            last = last->tb_next;
        PyCodeObject *code = PyFrame_GetCode(last->tb_frame);
        const char *file = PyUnicode_AsUTF8(code->co_filename), *fn = PyUnicode_AsUTF8(code->co_name);
        const char *base = file ? strrchr(file, '/') : NULL;
        snprintf(where, sizeof where, " at %s:%d in %s", base ? base + 1 : (file ? file : "?"),
                 PyFrame_GetLineNumber(last->tb_frame), fn ? fn : "?");
        Py_DECREF(code);
        Py_DECREF(tb);
    }
    PyErr_Clear();
    PyObject *text = PyObject_Str(exc);
    const char *m = text ? PyUnicode_AsUTF8(text) : NULL;
    if (!m)
        PyErr_Clear();
    snprintf(msg, sizeof msg, "%s%s: %s", Py_TYPE(exc)->tp_name, where, m ? m : "?");
    Py_XDECREF(text);
    fresh_trial_fail(t, msg);
    int fatal = !PyErr_GivenExceptionMatches(exc, PyExc_Exception);
    if (fatal && !*keep)
        *keep = Py_NewRef(exc);
    Py_DECREF(exc);
    return fatal;
}

/* The objective's return value (or tell's loss): a number or None (the
 * last report). A job that was asked to stop after reporting below its
 * budget (the `if not trial.report(...): break` pattern) keeps its last
 * report and counts as stopped: the value is not used then, since in C an
 * explicit loss means the job reached its budget. */
static void set_result(TrialObject *to, PyObject *r)
{
    fresh_trial *t = to->t;
    if (r == Py_None)
        return;
    double v = PyFloat_AsDouble(r);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        char msg[200];
        snprintf(msg, sizeof msg, "objective returned %.100s, not a number or None", Py_TYPE(r)->tp_name);
        fresh_trial_fail(t, msg);
        return;
    }
    if (to->reported && to->last_step < fresh_trial_budget(t) && fresh_trial_should_stop(t))
        return;
    fresh_trial_set_loss(t, v);
}

/* Runs on a worker thread: takes the GIL for the objective only. */
static int objective_tramp(fresh_trial *t, void *user)
{
    RunCtx *ctx = user;
    PyGILState_STATE g = PyGILState_Ensure();
    int rc = 0;
    if (ctx->finished || !ctx->objective) { /* abandoned before it started: optimize has returned */
        fresh_trial_fail(t, "abandoned: optimize() had returned");
        PyGILState_Release(g);
        return 1;
    }
    StudyObject *prev = in_objective_of;
    in_objective_of = ctx->so;
    TrialObject *to = trial_new(ctx->so, t, 0);
    if (!to) {
        PyErr_Clear();
        fresh_trial_fail(t, "out of memory creating the Trial object");
        rc = 1;
    } else {
        PyObject *fn = Py_NewRef(ctx->objective);
        PyObject *r = PyObject_CallOneArg(fn, (PyObject *)to);
        Py_DECREF(fn);
        if (!r) {
            PyObject *keep = NULL;
            if (objective_failed(t, &keep)) {
                if (!ctx->exc)
                    ctx->exc = keep;
                else
                    Py_DECREF(keep);
                fresh_study_force_stop(ctx->so->st);
            }
        } else {
            set_result(to, r);
            Py_DECREF(r);
        }
        to->t = NULL; /* the trial ends with the objective */
        Py_DECREF(to); /* may free the Study (see Study_dealloc): ctx is not used after */
    }
    in_objective_of = prev;
    PyGILState_Release(g);
    return rc;
}

/* on_job: the owner thread (or tell's caller); runs the callbacks. */
static void on_job_cb(const fresh_study *st, const fresh_job_info *job, void *user)
{
    (void)st;
    StudyObject *self = user;
    RunCtx *ctx = self->run;
    if (!ctx || !ctx->callbacks)
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    in_callback = 1;
    PyObject *jd = job_to_dict(self, (size_t)job->job_id);
    Py_ssize_t n = jd ? PyList_GET_SIZE(ctx->callbacks) : 0;
    for (Py_ssize_t k = 0; k < n && !ctx->exc; k++) {
        PyObject *r = PyObject_CallFunctionObjArgs(PyList_GET_ITEM(ctx->callbacks, k), (PyObject *)self, jd, NULL);
        if (!r) {
            ctx->exc = take_exception();
            fresh_study_force_stop(self->st);
        }
        Py_XDECREF(r);
    }
    if (!jd) {
        ctx->exc = take_exception();
        fresh_study_force_stop(self->st);
    }
    Py_XDECREF(jd);
    in_callback = 0;
    PyGILState_Release(g);
}

static void *owner_main(void *arg)
{
    RunCtx *ctx = arg;
    int r = fresh_study_optimize(ctx->so->st, objective_tramp, ctx);
    pthread_mutex_lock(&ctx->mu);
    ctx->result = r;
    ctx->done = 1;
    pthread_cond_signal(&ctx->cv);
    pthread_mutex_unlock(&ctx->mu);
    return NULL;
}

static const char *const RUN_OPTS[] = {"budget",      "max_total_budget", "timeout", "max_wall_time",
                                       "max_brackets", "target_loss",      "workers", NULL};

static PyObject *Study_optimize(StudyObject *self, PyObject *args, PyObject *kw)
{
    PyObject *objective, *callbacks = NULL;
    if (!PyArg_ParseTuple(args, "O:optimize", &objective) || !study_ready(self, 0))
        return NULL;
    if (!PyCallable_Check(objective))
        return PyErr_Format(PyExc_TypeError, "objective must be callable");
    if (self->snapshot)
        return raise_status(FRESH_ESTATE, "a snapshot of a study file is read-only");
    if (PySet_GET_SIZE(self->outstanding) > 0)
        return raise_status(FRESH_ESTATE, "trials from ask() are not told yet");
    fresh_study_params p;
    fresh_study_get_params(self->st, &p);
    if (kw) {
        PyObject *key, *val;
        Py_ssize_t pos = 0;
        while (PyDict_Next(kw, &pos, &key, &val)) {
            const char *name = PyUnicode_AsUTF8(key);
            if (!name)
                return NULL;
            if (!strcmp(name, "callbacks")) {
                callbacks = val;
                continue;
            }
            int r = set_opt(&p, name, val, RUN_OPTS);
            if (r < 0)
                return NULL;
            if (r == 0)
                return PyErr_Format(PyExc_TypeError, "optimize() got an unexpected keyword argument '%s'", name);
        }
    }
    PyObject *cbs = NULL;
    if (callbacks && callbacks != Py_None) {
        cbs = PySequence_List(callbacks);
        if (!cbs)
            return NULL;
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(cbs); k++)
            if (!PyCallable_Check(PyList_GET_ITEM(cbs, k))) {
                Py_DECREF(cbs);
                return PyErr_Format(PyExc_TypeError, "callbacks must be callables f(study, job)");
            }
    }
    p.on_job = on_job_cb;
    p.on_job_user = self;
    if (fresh_study_set_run_options(self->st, &p) != FRESH_OK) {
        Py_XDECREF(cbs);
        return study_error(self, -1);
    }
    RunCtx *run = PyMem_RawCalloc(1, sizeof *run);
    if (!run) {
        Py_XDECREF(cbs);
        return PyErr_NoMemory();
    }
    run->so = self;
    run->objective = Py_NewRef(objective);
    run->callbacks = cbs;
    run->next = self->runs;
    self->runs = run;
    pthread_mutex_init(&run->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&run->cv, &ca);
    pthread_condattr_destroy(&ca);

    Py_INCREF(self);
    self->busy = 1;
    self->run = run;
    /* the owner thread (and the pool's workers it starts) block every
     * signal: SIGINT goes to this thread, where Python handles it */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int e = pthread_create(&self->owner, NULL, owner_main, run);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        self->busy = 0;
        self->run = NULL;
        run->finished = 1;
        Py_DECREF(self);
        Py_CLEAR(run->callbacks);
        pthread_cond_destroy(&run->cv);
        pthread_mutex_destroy(&run->mu);
        return raise_status(FRESH_ETHREAD, "cannot start the study's owner thread");
    }
    PyObject *interrupt = NULL; /* from a signal handler */
    PyThreadState *ts = PyEval_SaveThread();
    pthread_mutex_lock(&run->mu);
    while (!run->done) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 50 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&run->cv, &run->mu, &until);
        if (run->done)
            break;
        pthread_mutex_unlock(&run->mu);
        PyEval_RestoreThread(ts);
        if (PyErr_CheckSignals() < 0) {
            if (!interrupt) {
                interrupt = take_exception();
                fresh_study_force_stop(self->st);
            } else {
                PyErr_Clear(); /* already stopping: wait for the running objectives */
            }
        }
        ts = PyEval_SaveThread();
        pthread_mutex_lock(&run->mu);
    }
    pthread_mutex_unlock(&run->mu);
    pthread_join(self->owner, NULL);
    PyEval_RestoreThread(ts);

    self->busy = 0;
    self->run = NULL;
    self->last_status = run->result;
    pthread_cond_destroy(&run->cv);
    pthread_mutex_destroy(&run->mu);
    run->finished = 1;
    Py_CLEAR(run->callbacks);
    PyObject *exc = run->exc;
    run->exc = NULL;
    PyObject *res = NULL;
    if (interrupt) {
        give_exception(interrupt);
        Py_XDECREF(exc);
    } else if (exc) {
        give_exception(exc);
    } else if (run->result < 0) {
        study_error(self, run->result);
    } else {
        res = PyUnicode_FromString(fresh_status_name(run->result));
    }
    Py_DECREF(self);
    return res;
}

/* ---- ask / tell ---- */

static PyObject *Study_ask(StudyObject *self, PyObject *Py_UNUSED(ig))
{
    if (!study_ready(self, 0))
        return NULL;
    fresh_trial *t = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = fresh_study_ask(self->st, &t);
    Py_END_ALLOW_THREADS
    self->last_status = rc;
    if (rc < 0)
        return study_error(self, rc);
    if (rc > 0)
        Py_RETURN_NONE;
    TrialObject *to = trial_new(self, t, 1);
    if (!to || PySet_Add(self->outstanding, (PyObject *)to) < 0) {
        /* cannot hand it out: tell it as failed so the study stays consistent */
        fresh_trial_fail(t, "out of memory in the Python binding");
        fresh_study_tell(self->st, t);
        if (to)
            to->t = NULL;
        Py_XDECREF(to);
        return NULL;
    }
    return (PyObject *)to;
}

static PyObject *Study_tell(StudyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"trial", "loss", "error", NULL};
    PyObject *tobj, *loss = Py_None;
    const char *error = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|Oz:tell", kwlist, &TrialType, &tobj, &loss, &error) ||
        !study_ready(self, 0))
        return NULL;
    TrialObject *to = (TrialObject *)tobj;
    if (to->study != self || !to->asked)
        return raise_status(FRESH_EINVAL, "not a trial from this study's ask()");
    if (!trial_live(to))
        return NULL;
    if (error)
        fresh_trial_fail(to->t, error);
    else if (loss != Py_None)
        set_result(to, loss);
    int rc;
    fresh_trial *t = to->t;
    to->t = NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = fresh_study_tell(self->st, t);
    Py_END_ALLOW_THREADS
    if (PySet_Discard(self->outstanding, tobj) < 0)
        return NULL;
    if (rc < 0)
        return study_error(self, rc);
    Py_RETURN_NONE;
}

static PyObject *Study_stop(StudyObject *self, PyObject *Py_UNUSED(ig))
{
    if (self->st)
        fresh_study_force_stop(self->st);
    Py_RETURN_NONE;
}

/* ---- results ---- */

static PyObject *best_dict(StudyObject *self, int any_budget)
{
    uint64_t id;
    double loss, budget;
    const double *x;
    int rc = any_budget ? fresh_study_best_any_budget(self->st, &id, &loss, &budget, &x)
                        : fresh_study_incumbent(self->st, &id, &loss, &budget, &x);
    if (rc != FRESH_OK)
        Py_RETURN_NONE;
    PyObject *params = config_to_dict(((SpaceObject *)self->space)->sp, x);
    if (!params)
        return NULL;
    PyObject *d = Py_BuildValue("{s:O,s:d,s:d,s:K}", "params", params, "loss", loss, "budget", budget,
                                "config_id", (unsigned long long)id);
    Py_DECREF(params);
    return d;
}

static PyObject *Study_best(StudyObject *self, void *Py_UNUSED(c))
{
    return study_ready(self, 1) ? best_dict(self, 0) : NULL;
}

static PyObject *Study_best_any_budget(StudyObject *self, void *Py_UNUSED(c))
{
    return study_ready(self, 1) ? best_dict(self, 1) : NULL;
}

static PyObject *job_item(void *ctx, size_t i) { return job_to_dict(ctx, i); }

static PyObject *Study_jobs(StudyObject *self, void *Py_UNUSED(c))
{
    if (!study_ready(self, 1))
        return NULL;
    return list_of(fresh_study_n_jobs(self->st), job_item, self);
}

static PyObject *Study_stats(StudyObject *self, void *Py_UNUSED(c))
{
    if (!study_ready(self, 1))
        return NULL;
    fresh_study_stats s;
    fresh_study_get_stats(self->st, &s);
    return Py_BuildValue(
        "{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:l,s:l,s:d,s:d,s:d,s:d,s:d,s:d,s:n,s:n,s:n,s:n,s:n,s:n,s:n}",
        "jobs_finished", (Py_ssize_t)s.jobs_finished, "jobs_completed", (Py_ssize_t)s.jobs_completed,
        "jobs_stopped", (Py_ssize_t)s.jobs_stopped, "jobs_failed", (Py_ssize_t)s.jobs_failed, "configs",
        (Py_ssize_t)s.configs, "proposals_model", (Py_ssize_t)s.proposals_model, "proposals_random",
        (Py_ssize_t)s.proposals_random, "proposals_hedged", (Py_ssize_t)s.proposals_hedged,
        "brackets_opened", s.brackets_opened, "brackets_finished", s.brackets_finished, "used_budget",
        s.used_budget, "used_mbe", s.used_mbe, "wall_time", s.wall_time, "busy_time", s.busy_time,
        "overhead_time", s.overhead_time, "utilization", s.utilization, "workers", (Py_ssize_t)s.workers,
        "jobs_replayed", (Py_ssize_t)s.jobs_replayed, "jobs_requeued", (Py_ssize_t)s.jobs_requeued,
        "warm_start_observations", (Py_ssize_t)s.warm_start_observations, "jobs_failed_after_crash",
        (Py_ssize_t)s.jobs_failed_after_crash, "jobs_running", (Py_ssize_t)s.jobs_running,
        "jobs_interrupted", (Py_ssize_t)s.jobs_interrupted);
}

static PyObject *traj_item(void *ctx, size_t i)
{
    StudyObject *self = ctx;
    fresh_traj_point pt;
    fresh_study_trajectory(self->st, i, &pt);
    PyObject *inc = pt.has_incumbent ? Py_BuildValue("{s:K,s:d,s:d}", "config_id", (unsigned long long)pt.config_id,
                                                     "loss", pt.loss, "budget", pt.budget)
                                     : Py_NewRef(Py_None);
    PyObject *any = pt.has_best_any ? Py_BuildValue("{s:K,s:d,s:d}", "config_id",
                                                    (unsigned long long)pt.best_any_config_id, "loss",
                                                    pt.best_any_loss, "budget", pt.best_any_budget)
                                    : Py_NewRef(Py_None);
    PyObject *d = inc && any ? Py_BuildValue("{s:K,s:d,s:d,s:O,s:O}", "job_id", (unsigned long long)pt.job_id,
                                             "used_mbe", pt.used_mbe, "wall_time", pt.wall_time, "best", inc,
                                             "best_any_budget", any)
                             : NULL;
    Py_XDECREF(inc);
    Py_XDECREF(any);
    return d;
}

static PyObject *Study_trajectory(StudyObject *self, void *Py_UNUSED(c))
{
    if (!study_ready(self, 1))
        return NULL;
    return list_of(fresh_study_n_trajectory(self->st), traj_item, self);
}

static PyObject *Study_params(StudyObject *self, void *Py_UNUSED(c))
{
    if (!study_ready(self, 1))
        return NULL;
    fresh_study_params p;
    fresh_study_get_params(self->st, &p);
    const fresh_sampler_params *sp = &p.sampler_params;
    PyObject *target = isnan(p.target_loss) ? Py_NewRef(Py_None) : PyFloat_FromDouble(p.target_loss);
    if (!target)
        return NULL;
    PyObject *d = Py_BuildValue(
        "{s:d,s:d,s:d,s:s,s:s,s:s,s:n,s:n,s:K,s:O,s:d,s:n,s:O,s:l,s:d,s:d,s:O,s:d,s:n,s:d,s:d,s:d,s:n,s:d,s:d}",
        "min_budget", p.min_budget, "max_budget", p.max_budget, "eta", p.eta, "brackets",
        p.bracket_formula == FRESH_BRACKETS_FLOOR ? "floor" : "paper", "scheduler", p.scheduler->name,
        "sampler", p.sampler->name, "workers", (Py_ssize_t)p.workers, "max_open_brackets", (Py_ssize_t)p.max_open_brackets, "seed", (unsigned long long)p.seed,
        "early_stopping", p.early_stopping ? Py_True : Py_False, "job_time_limit", p.job_time_limit,
        "max_paused", (Py_ssize_t)p.max_paused, "paper_promotions",
        p.paper_promotions ? Py_True : Py_False, "max_brackets", p.max_brackets, "max_total_budget", p.max_total_budget, "max_wall_time",
        p.max_wall_time, "target_loss", target, "random_fraction", sp->random_fraction, "num_samples",
        (Py_ssize_t)sp->num_samples, "top_n_percent", sp->top_n_percent, "bandwidth_factor",
        sp->bandwidth_factor, "min_bandwidth", sp->min_bandwidth, "min_points_in_model",
        (Py_ssize_t)sp->min_points_in_model, "bandwidth_floor", sp->bandwidth_floor, "hedge_tau",
        sp->hedge_tau);
    Py_DECREF(target);
    return d;
}

static PyObject *Study_plan(StudyObject *self, void *Py_UNUSED(c))
{
    if (!study_ready(self, 1))
        return NULL;
    char *out = NULL;
    if (fresh_plan_to_json(fresh_study_plan(self->st), &out) != FRESH_OK)
        return PyErr_NoMemory();
    PyObject *json = PyImport_ImportModule("json");
    PyObject *r = json ? PyObject_CallMethod(json, "loads", "s", out) : NULL;
    Py_XDECREF(json);
    free(out);
    return r;
}

static PyObject *Study_rungs(StudyObject *self, void *Py_UNUSED(c))
{
    return list_of(self->n_rungs, double_item, self->rungs);
}

static PyObject *Study_status(StudyObject *self, void *Py_UNUSED(c))
{
    const char *n = fresh_status_name(self->last_status);
    return PyUnicode_FromString(n ? n : "UNKNOWN");
}

static PyObject *Study_space(StudyObject *self, void *Py_UNUSED(c)) { return Py_NewRef(self->space); }

static PyObject *Study_config(StudyObject *self, PyObject *arg)
{
    if (!study_ready(self, 1))
        return NULL;
    unsigned long long id = PyLong_AsUnsignedLongLong(arg);
    if (id == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    const double *x = fresh_study_config(self->st, id);
    if (!x)
        return raise_status(FRESH_ENOTFOUND, "no such configuration id");
    return config_to_dict(((SpaceObject *)self->space)->sp, x);
}

static PyObject *Study_export(StudyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"path", "format", NULL};
    PyObject *path = NULL;
    const char *format = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|z:export", kwlist, PyUnicode_FSConverter, &path, &format))
        return NULL;
    if (!study_ready(self, 1)) {
        Py_DECREF(path);
        return NULL;
    }
    const char *p = PyBytes_AS_STRING(path);
    if (!format) {
        size_t n = strlen(p);
        format = (n > 6 && !strcmp(p + n - 6, ".jsonl")) ? "jsonl" : "csv";
    }
    fresh_export_format f;
    if (!strcmp(format, "csv"))
        f = FRESH_EXPORT_CSV;
    else if (!strcmp(format, "jsonl"))
        f = FRESH_EXPORT_JSONL;
    else {
        Py_DECREF(path);
        return PyErr_Format(PyExc_ValueError, "format: 'csv' or 'jsonl', got '%s'", format);
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = fresh_study_export(self->st, p, f);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    return rc ? study_error(self, rc) : Py_NewRef(Py_None);
}

static PyObject *Study_warm_start(StudyObject *self, PyObject *arg)
{
    PyObject *path = NULL;
    if (!study_ready(self, 0) || !PyUnicode_FSConverter(arg, &path))
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = fresh_study_warm_start(self->st, PyBytes_AS_STRING(path));
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    return rc ? study_error(self, rc) : Py_NewRef(Py_None);
}

static PyObject *Study_repr(StudyObject *self)
{
    if (!self->st)
        return PyUnicode_FromString("<fresh.Study (uninitialised)>");
    return PyUnicode_FromFormat("<fresh.Study: %zu jobs%s>", fresh_study_n_jobs(self->st),
                                self->busy ? ", optimizing" : "");
}

static PyMethodDef Study_methods[] = {
    {"optimize", (PyCFunction)(void (*)(void))Study_optimize, METH_VARARGS | METH_KEYWORDS,
     "optimize(objective, *, budget=None, timeout=None, max_brackets=None, target_loss=None,\n"
     "         workers=None, callbacks=None) -> str\n\n"
     "Runs objective(trial) on the worker pool until a stopping criterion holds and\n"
     "returns why (\"BUDGET_REACHED\", \"BRACKETS_DONE\", \"TIME_REACHED\",\n"
     "\"TARGET_REACHED\", \"STOPPED\"). Criteria left None keep the study's values:\n"
     "budget (= max_total_budget) is the study's total in max-budget equivalents\n"
     "(resumed jobs count), timeout (= max_wall_time) the seconds of this call.\n"
     "The GIL is released while the pool runs; each worker takes it to call the\n"
     "objective. An exception in the objective records a failed job (type, place,\n"
     "message) and the study goes on. Ctrl-C stops the study cleanly (running\n"
     "objectives see trial.report() return False, every job is recorded) and\n"
     "re-raises KeyboardInterrupt. callbacks: f(study, job) after each job, on\n"
     "the owner thread; an exception there stops the study and is re-raised."},
    {"ask", (PyCFunction)Study_ask, METH_NOARGS,
     "ask() -> Trial | None\n\nThe next job for a worker you run yourself; None when no job can start\n"
     "now: study.status is then \"WAIT\" (tell a running trial first) or why the\n"
     "study ended (\"BUDGET_REACHED\", ...)."},
    {"tell", (PyCFunction)(void (*)(void))Study_tell, METH_VARARGS | METH_KEYWORDS,
     "tell(trial, loss=None, error=None)\n\nRecords a trial from ask(): its loss (else its last report), or a\n"
     "failure with the message `error`. The trial ends."},
    {"stop", (PyCFunction)Study_stop, METH_NOARGS,
     "stop()\n\nAsks optimize() to stop (any thread, callbacks included): no new jobs,\n"
     "running ones see trial.report() return False."},
    {"config", (PyCFunction)Study_config, METH_O, "config(config_id) -> dict\n\nThe parameters of a configuration."},
    {"export", (PyCFunction)(void (*)(void))Study_export, METH_VARARGS | METH_KEYWORDS,
     "export(path, format=None)\n\nWrites every job as CSV or JSON Lines (format from the suffix .jsonl)."},
    {"warm_start", (PyCFunction)Study_warm_start, METH_O,
     "warm_start(path)\n\nFeeds an earlier study file's results (same space) to the sampler.\n"
     "Call before the first job; repeat it when resuming."},
    {"load", (PyCFunction)(void (*)(void))Study_load, METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "Study.load(path, snapshot=False) -> Study\n\nOpens a study file with its stored space and parameters, to read\n"
     "it or continue it. snapshot=True reads a file another process may be\n"
     "running, without writing it."},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef Study_getset[] = {
    {"best", (getter)Study_best, NULL,
     "The incumbent at the maximum budget: {params, loss, budget, config_id}, or None.", NULL},
    {"best_any_budget", (getter)Study_best_any_budget, NULL,
     "For progress only: the best completed job at the largest budget reached so far, or None.", NULL},
    {"jobs", (getter)Study_jobs, NULL, "Every job, as a list of dicts, in creation order.", NULL},
    {"stats", (getter)Study_stats, NULL, "Counters and times (dict).", NULL},
    {"trajectory", (getter)Study_trajectory, NULL, "The incumbent after each finished job.", NULL},
    {"params", (getter)Study_params, NULL, "The study's parameters (dict).", NULL},
    {"plan", (getter)Study_plan, NULL, "The Hyperband brackets (dict).", NULL},
    {"rungs", (getter)Study_rungs, NULL, "The rung budgets, ascending.", NULL},
    {"status", (getter)Study_status, NULL, "Status name of the last ask() or optimize().", NULL},
    {"space", (getter)Study_space, NULL, "The search space.", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject StudyType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fresh._fresh.Study",
    .tp_basicsize = sizeof(StudyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Study(space, *, min_budget=1, max_budget=81, eta=3, sampler='bohb', scheduler='adaptive', ...)\n\n"
              "A tuning study (the C fresh_study); see help(fresh.Study).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Study_init,
    .tp_dealloc = (destructor)Study_dealloc,
    .tp_traverse = (traverseproc)Study_traverse,
    .tp_clear = (inquiry)Study_clear_refs,
    .tp_methods = Study_methods,
    .tp_getset = Study_getset,
    .tp_repr = (reprfunc)Study_repr,
};

/* ================================================================ module */

static PyObject *mod_set_space_class(PyObject *Py_UNUSED(m), PyObject *cls)
{
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &SpaceType))
        return PyErr_Format(PyExc_TypeError, "a subclass of Space is required");
    Py_XSETREF(space_class, Py_NewRef(cls));
    Py_RETURN_NONE;
}

static PyObject *mod_file_in_use(PyObject *Py_UNUSED(m), PyObject *arg)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    int r = fresh_study_file_in_use(PyBytes_AS_STRING(path));
    Py_DECREF(path);
    return r < 0 ? raise_status(r, "cannot check the study file's lock") : PyBool_FromLong(r);
}

static PyObject *mod_statuses(PyObject *Py_UNUSED(m), PyObject *Py_UNUSED(ig))
{
    PyObject *d = PyDict_New();
    for (int i = 0; d && i < fresh_status_count(); i++) {
        int c = fresh_status_at(i);
        PyObject *v = PyLong_FromLong(c);
        if (!v || PyDict_SetItemString(d, fresh_status_name(c), v))
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *mod_strerror(PyObject *Py_UNUSED(m), PyObject *arg)
{
    long c = PyLong_AsLong(arg);
    if (c == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(fresh_strerror((int)c));
}

static PyMethodDef module_methods[] = {
    {"_set_space_class", mod_set_space_class, METH_O, NULL},
    {"file_in_use", mod_file_in_use, METH_O,
     "file_in_use(path) -> bool\n\nTrue if a process has the study file open for writing."},
    {"statuses", mod_statuses, METH_NOARGS, "statuses() -> dict\n\n{name: code} of every fresh status."},
    {"strerror", mod_strerror, METH_O, "strerror(code) -> str\n\nThe message of a status code."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef fresh_module = {PyModuleDef_HEAD_INIT, "fresh._fresh",
                                          "The C extension under `import fresh` (libfresh's API).", -1,
                                          module_methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fresh(void)
{
    fresh_init();
    if (PyType_Ready(&SpaceType) < 0 || PyType_Ready(&StudyType) < 0 || PyType_Ready(&TrialType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&fresh_module);
    if (!m)
        return NULL;
    FreshError = PyErr_NewExceptionWithDoc(
        "fresh.Error",
        "A libfresh error: .status (negative code), .name (\"EINVAL\", ...) and\n"
        ".message (the C library's message, naming the offending value).",
        NULL, NULL);
    space_class = Py_NewRef((PyObject *)&SpaceType);
    if (!FreshError || PyModule_AddObjectRef(m, "Error", FreshError) < 0 ||
        PyModule_AddObjectRef(m, "Space", (PyObject *)&SpaceType) < 0 ||
        PyModule_AddObjectRef(m, "Study", (PyObject *)&StudyType) < 0 ||
        PyModule_AddObjectRef(m, "Trial", (PyObject *)&TrialType) < 0 ||
        PyModule_AddStringConstant(m, "version", fresh_version()) < 0 ||
        PyModule_AddIntConstant(m, "DEFAULT_SEED", FRESH_DEFAULT_SEED) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
