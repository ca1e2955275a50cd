/* The classifier's hot loops in C: the linear model's scoring (model.py, LinearModel.logits) and
 * the tokenizer's ASCII path (features.py, signals.py).
 *
 * Scorer(table, spaces) holds the vocabulary as one compact open-addressing table of 64-bit keys,
 * built from `spaces` (namespace -> item -> row, items being str or (str, str) bigrams), and a
 * reference to `table`, the C-contiguous float32 weights of shape (rows, classes).
 *
 * Scorer.logits(features, intercept_row, offset) -> list[float] scores groups of
 * (value, namespace, items) as features.featurize builds them. A value of None means "each
 * distinct item counts 1/sqrt(number of distinct items)": the group is deduplicated here, in
 * first-seen order. Sums are kept in double precision in that order, so a request gets the same
 * logits in every process. Scorer.predict(...) -> (index, probability) takes the same arguments and
 * returns the top class (the first on ties) and its softmax probability.
 *
 * Why: in a busy server the Python dict lookups per item cost several cache misses each (the
 * dict entry, the stored key string it compares against, the row's int object), and building a
 * tuple per bigram and a dict per group to deduplicate them costs allocations. Here a lookup
 * reads one 16-byte slot, and a bigram is found from its two tokens' cached str hashes.
 *
 * Keys are mixes of the namespace and Python's (per-process, cached) str hashes, built in the
 * same process that looks them up. Only the 64-bit key is compared: an unknown item is taken for
 * a known one only if two 64-bit mixes collide, about 1e-15 per request for this vocabulary.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

#define MAX_CLASSES 64
#define MAX_NAMESPACES 32
#define LOCAL_SET_SLOTS 1024

static uint64_t mix64(uint64_t x) { /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* The key of a bigram (first, second) in namespace `ns`, from its two str hashes. */
static uint64_t pair_key(Py_hash_t first, Py_hash_t second, Py_ssize_t ns) {
    uint64_t k = mix64(mix64((uint64_t)first + 0x9e3779b97f4a7c15ULL * (uint64_t)(ns + 1)) ^ ((uint64_t)second * 0xd6e8feb86659fd93ULL));
    return k ? k : 1;
}

/* The key of one item in namespace `ns`; 0 is reserved for empty slots. -1 with an exception on
 * an item that is neither a str nor a pair of str (or on a hash failure). */
static int item_key(PyObject *item, Py_ssize_t ns, uint64_t *key) {
    uint64_t k;
    if (PyUnicode_CheckExact(item)) {
        Py_hash_t h = PyObject_Hash(item);
        if (h == -1 && PyErr_Occurred()) {
            return -1;
        }
        k = mix64((uint64_t)h + 0x9e3779b97f4a7c15ULL * (uint64_t)(ns + 1));
    } else if (PyTuple_CheckExact(item) && PyTuple_GET_SIZE(item) == 2 && PyUnicode_CheckExact(PyTuple_GET_ITEM(item, 0)) &&
               PyUnicode_CheckExact(PyTuple_GET_ITEM(item, 1))) {
        Py_hash_t first = PyObject_Hash(PyTuple_GET_ITEM(item, 0));
        Py_hash_t second = PyObject_Hash(PyTuple_GET_ITEM(item, 1));
        if ((first == -1 || second == -1) && PyErr_Occurred()) {
            return -1;
        }
        k = pair_key(first, second, ns);
    } else {
        PyErr_SetString(PyExc_TypeError, "feature items must be str or a (str, str) bigram");
        return -1;
    }
    *key = k ? k : 1;
    return 0;
}

typedef struct {
    uint64_t key;
    int64_t row; /* -1: empty */
} Slot;

typedef struct {
    PyObject_HEAD
    PyObject *table_obj;
    Py_buffer table;
    int has_table;
    Py_ssize_t rows, classes;
    PyObject *namespaces[MAX_NAMESPACES]; /* owned str references */
    Py_ssize_t n_namespaces;
    Slot *slots;
    uint64_t mask;
} Scorer;

static Py_ssize_t namespace_index(Scorer *self, PyObject *name) {
    for (Py_ssize_t i = 0; i < self->n_namespaces; i++) {
        if (self->namespaces[i] == name) {
            return i;
        }
    }
    for (Py_ssize_t i = 0; i < self->n_namespaces; i++) {
        int equal = PyObject_RichCompareBool(self->namespaces[i], name, Py_EQ);
        if (equal < 0) {
            return -2;
        }
        if (equal) {
            return i;
        }
    }
    return -1;
}

static int64_t find_row(const Scorer *self, uint64_t key) {
    for (uint64_t at = key & self->mask;; at = (at + 1) & self->mask) {
        const Slot *slot = &self->slots[at];
        if (slot->row < 0) {
            return -1;
        }
        if (slot->key == key) {
            return slot->row;
        }
    }
}

static int insert_row(Scorer *self, uint64_t key, int64_t row) {
    for (uint64_t at = key & self->mask;; at = (at + 1) & self->mask) {
        Slot *slot = &self->slots[at];
        if (slot->row < 0) {
            slot->key = key;
            slot->row = row;
            return 0;
        }
        if (slot->key == key) {
            PyErr_SetString(PyExc_ValueError, "two vocabulary items share a 64-bit key; rebuild with another hash seed");
            return -1;
        }
    }
}

static int read_float32(PyObject *obj, Py_buffer *view, int ndim) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        return -1;
    }
    if (view->ndim != ndim || view->itemsize != 4 || view->format == NULL || strcmp(view->format, "f") != 0) {
        PyErr_Format(PyExc_TypeError, "expected a C-contiguous float32 array of %d dimension(s)", ndim);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int add_space(Scorer *self, Py_ssize_t ns, PyObject *space) {
    PyObject *item, *row_obj;
    Py_ssize_t pos = 0;
    while (PyDict_Next(space, &pos, &item, &row_obj)) {
        Py_ssize_t row = PyLong_AsSsize_t(row_obj);
        if (row == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (row < 0 || row >= self->rows) {
            PyErr_Format(PyExc_ValueError, "feature row %zd outside the table's %zd rows", row, self->rows);
            return -1;
        }
        uint64_t key;
        if (item_key(item, ns, &key) < 0 || insert_row(self, key, row) < 0) {
            return -1;
        }
    }
    return 0;
}

static int Scorer_init(Scorer *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"table", "spaces", NULL};
    PyObject *table_obj, *spaces;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!:Scorer", names, &table_obj, &PyDict_Type, &spaces)) {
        return -1;
    }
    if (self->has_table || self->slots) {
        PyErr_SetString(PyExc_RuntimeError, "Scorer is already initialised");
        return -1;
    }
    if (read_float32(table_obj, &self->table, 2) < 0) {
        return -1;
    }
    self->has_table = 1;
    Py_INCREF(table_obj);
    self->table_obj = table_obj;
    self->rows = self->table.shape[0];
    self->classes = self->table.shape[1];
    if (self->classes < 1 || self->classes > MAX_CLASSES) {
        PyErr_Format(PyExc_ValueError, "the table has %zd classes; 1 to %d are supported", self->classes, MAX_CLASSES);
        return -1;
    }
    Py_ssize_t total = 0, pos = 0;
    PyObject *name, *space;
    while (PyDict_Next(spaces, &pos, &name, &space)) {
        if (!PyUnicode_Check(name) || !PyDict_Check(space)) {
            PyErr_SetString(PyExc_TypeError, "spaces must map namespace str to a dict of item -> row");
            return -1;
        }
        total += PyDict_GET_SIZE(space);
    }
    if (PyDict_GET_SIZE(spaces) > MAX_NAMESPACES) {
        PyErr_Format(PyExc_ValueError, "at most %d namespaces are supported", MAX_NAMESPACES);
        return -1;
    }
    uint64_t size = 16;
    while (size < (uint64_t)total * 2) { /* load factor <= 1/2: short probe runs */
        size <<= 1;
    }
    self->slots = PyMem_Malloc(size * sizeof(Slot));
    if (self->slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (uint64_t i = 0; i < size; i++) {
        self->slots[i].row = -1;
    }
    self->mask = size - 1;
    pos = 0;
    while (PyDict_Next(spaces, &pos, &name, &space)) {
        Py_INCREF(name);
        self->namespaces[self->n_namespaces] = name;
        if (add_space(self, self->n_namespaces++, space) < 0) {
            return -1;
        }
    }
    return 0;
}

static void Scorer_dealloc(Scorer *self) {
    if (self->has_table) {
        PyBuffer_Release(&self->table);
    }
    Py_XDECREF(self->table_obj);
    for (Py_ssize_t i = 0; i < self->n_namespaces; i++) {
        Py_DECREF(self->namespaces[i]);
    }
    PyMem_Free(self->slots);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#include "_score_groups.c"

/* The class scores of `args` = (features, intercept_row, offset) into acc; -1 with an exception. */
static int score_into(Scorer *self, PyObject *args, const char *format, double *acc) {
    PyObject *features, *offset_obj;
    Py_ssize_t intercept_row;
    if (!PyArg_ParseTuple(args, format, &PyList_Type, &features, &intercept_row, &offset_obj)) {
        return -1;
    }
    if (intercept_row >= self->rows) {
        PyErr_Format(PyExc_ValueError, "intercept row %zd outside the table's %zd rows", intercept_row, self->rows);
        return -1;
    }
    if (intercept_row >= 0) {
        add_row(acc, (const float *)self->table.buf + intercept_row * self->classes, self->classes, 1.0);
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(features); i++) {
        if (add_group(self, acc, PyList_GET_ITEM(features, i)) < 0) {
            return -1;
        }
    }
    return add_offset(self, acc, offset_obj);
}

static PyObject *Scorer_logits(Scorer *self, PyObject *args) {
    double acc[MAX_CLASSES] = {0.0};
    if (score_into(self, args, "O!nO:logits", acc) < 0) {
        return NULL;
    }
    PyObject *result = PyList_New(self->classes);
    if (result == NULL) {
        return NULL;
    }
    for (Py_ssize_t j = 0; j < self->classes; j++) {
        PyObject *number = PyFloat_FromDouble(acc[j]);
        if (number == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyList_SET_ITEM(result, j, number);
    }
    return result;
}

/* (index of the largest logit, its softmax probability): the first index on ties, as list.index. */
static PyObject *top_class(Scorer *self, const double *acc) {
    Py_ssize_t best = 0;
    for (Py_ssize_t j = 1; j < self->classes; j++) {
        if (acc[j] > acc[best]) {
            best = j;
        }
    }
    double total = 0.0;
    for (Py_ssize_t j = 0; j < self->classes; j++) {
        total += exp(acc[j] - acc[best]);
    }
    return Py_BuildValue("(nd)", best, 1.0 / total);
}

static PyObject *Scorer_predict(Scorer *self, PyObject *args) {
    double acc[MAX_CLASSES] = {0.0};
    if (score_into(self, args, "O!nO:predict", acc) < 0) {
        return NULL;
    }
    return top_class(self, acc);
}

#define SIGNAL_VALUE 0.5 /* features.SIGNAL_VALUE */
#include "_score_request.c"

#include "_score_tokens.c"

static PyMethodDef module_methods[] = {
    {"ascii_tokens", ascii_tokens, METH_VARARGS,
     "ascii_tokens(text, table) -> list[str] | None: text.translate(table).split() for ASCII text, else None."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef Scorer_methods[] = {
    {"logits", (PyCFunction)Scorer_logits, METH_VARARGS,
     "logits(features, intercept_row, offset) -> list[float]: class scores of grouped features."},
    {"predict", (PyCFunction)Scorer_predict, METH_VARARGS,
     "predict(features, intercept_row, offset) -> (index, probability): the top class and its softmax."},
    {"predict_request", (PyCFunction)Scorer_predict_request, METH_VARARGS,
     "predict_request(head, tail, first_clause, last_clause, previous, signals, multi_turn, tools, stem_memo, "
     "fill, intercept_row, offset) -> (index, probability): predict(featurize(...)) without the lists."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScorerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gateway.classify._score.Scorer",
    .tp_doc = PyDoc_STR("Scorer(table, spaces): the vocabulary as a compact hash table over the weights table."),
    .tp_basicsize = sizeof(Scorer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scorer_init,
    .tp_dealloc = (destructor)Scorer_dealloc,
    .tp_methods = Scorer_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_score", "The classifier's hot loops in C (see model.py and features.py).", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__score(void) {
    if (init_request_names() < 0 || PyType_Ready(&ScorerType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&ScorerType);
    if (PyModule_AddObject(m, "Scorer", (PyObject *)&ScorerType) < 0) {
        Py_DECREF(&ScorerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
