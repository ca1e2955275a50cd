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

static void add_row(double *acc, const float *row, Py_ssize_t classes, double value) {
    for (Py_ssize_t j = 0; j < classes; j++) {
        acc[j] += value * (double)row[j];
    }
}

/* A set of the keys already seen in one group; grows past its stack buffer only for huge groups. */
typedef struct {
    uint64_t local[LOCAL_SET_SLOTS];
    uint64_t *keys;
    uint64_t mask;
} SeenSet;

static int seen_init(SeenSet *seen, Py_ssize_t n_items) {
    uint64_t size = 16;
    while (size < (uint64_t)n_items * 2) {
        size <<= 1;
    }
    seen->keys = size <= LOCAL_SET_SLOTS ? seen->local : PyMem_Malloc(size * sizeof(uint64_t));
    if (seen->keys == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(seen->keys, 0, size * sizeof(uint64_t));
    seen->mask = size - 1;
    return 0;
}

static void seen_free(SeenSet *seen) {
    if (seen->keys != seen->local) {
        PyMem_Free(seen->keys);
    }
}

/* 1 if `key` is new (and records it), 0 if already seen. */
static int seen_add(SeenSet *seen, uint64_t key) {
    for (uint64_t at = key & seen->mask;; at = (at + 1) & seen->mask) {
        if (seen->keys[at] == 0) {
            seen->keys[at] = key;
            return 1;
        }
        if (seen->keys[at] == key) {
            return 0;
        }
    }
}

/* One group of features being summed: keys deduplicated (when normalised) in first-seen order,
 * rows summed in item order, the sum added to the scores once at the end. */
typedef struct {
    Scorer *scorer;
    Py_ssize_t ns; /* -1: a namespace the model has no features in (the group adds nothing) */
    int deduplicate;
    SeenSet seen;
    double sums[MAX_CLASSES];
    Py_ssize_t distinct;
} Group;

/* -1 with an exception; otherwise g->ns says whether the namespace is known. */
static int group_begin(Group *g, Scorer *self, PyObject *ns_name, int deduplicate, Py_ssize_t capacity) {
    g->scorer = self;
    g->deduplicate = deduplicate;
    g->distinct = 0;
    memset(g->sums, 0, sizeof(g->sums));
    g->ns = namespace_index(self, ns_name);
    if (g->ns == -2) {
        return -1;
    }
    if (g->ns >= 0 && deduplicate && seen_init(&g->seen, capacity) < 0) {
        g->ns = -1;
        return -1;
    }
    return 0;
}

static void group_add_key(Group *g, uint64_t key) {
    if (g->deduplicate) {
        if (!seen_add(&g->seen, key)) {
            return;
        }
        g->distinct++;
    }
    int64_t row = find_row(g->scorer, key);
    if (row >= 0) {
        add_row(g->sums, (const float *)g->scorer->table.buf + row * g->scorer->classes, g->scorer->classes, 1.0);
    }
}

static int group_add_all(Group *g, PyObject **items, Py_ssize_t n) {
    for (Py_ssize_t i = 0; g->ns >= 0 && i < n; i++) {
        uint64_t key;
        if (item_key(items[i], g->ns, &key) < 0) {
            return -1;
        }
        group_add_key(g, key);
    }
    return 0;
}

/* Adds the group's rows to acc (a normalised group at 1/sqrt(distinct keys), else at `value`) and frees it. */
static void group_end(Group *g, double *acc, double value) {
    if (g->ns < 0) {
        return;
    }
    if (g->deduplicate) {
        seen_free(&g->seen);
        value = g->distinct ? 1.0 / sqrt((double)g->distinct) : 0.0;
    }
    for (Py_ssize_t j = 0; j < g->scorer->classes; j++) {
        acc[j] += value * g->sums[j];
    }
}

/* Adds one group's rows to `acc`; -1 with an exception set on bad input. */
static int add_group(Scorer *self, double *acc, PyObject *group) {
    if (!PyTuple_Check(group) || PyTuple_GET_SIZE(group) != 3) {
        PyErr_SetString(PyExc_TypeError, "each feature group must be a (value, namespace, items) tuple");
        return -1;
    }
    PyObject *value_obj = PyTuple_GET_ITEM(group, 0);
    int deduplicate = value_obj == Py_None;
    double value = deduplicate ? 0.0 : PyFloat_AsDouble(value_obj);
    if (value == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    Py_ssize_t ns = namespace_index(self, PyTuple_GET_ITEM(group, 1));
    if (ns < 0) { /* -2: error; -1: a namespace the model has no features in adds nothing */
        return ns == -2 ? -1 : 0;
    }
    PyObject *items = PySequence_Fast(PyTuple_GET_ITEM(group, 2), "feature items must be a sequence or collection");
    if (items == NULL) {
        return -1;
    }
    Group g;
    int status = group_begin(&g, self, PyTuple_GET_ITEM(group, 1), deduplicate, PySequence_Fast_GET_SIZE(items));
    if (status == 0) {
        status = group_add_all(&g, PySequence_Fast_ITEMS(items), PySequence_Fast_GET_SIZE(items));
        group_end(&g, acc, value); /* frees the group; after an error the caller throws the scores away */
    }
    Py_DECREF(items);
    return status;
}

/* Adds `offset_obj` (None, or float32 scores of other groups, one per class) to acc. */
static int add_offset(Scorer *self, double *acc, PyObject *offset_obj) {
    if (offset_obj != Py_None) {
        Py_buffer offset;
        if (read_float32(offset_obj, &offset, 1) < 0) {
            return -1;
        }
        if (offset.shape[0] != self->classes) {
            PyErr_Format(PyExc_ValueError, "offset has %zd values, the table %zd classes", offset.shape[0],
                         self->classes);
            PyBuffer_Release(&offset);
            return -1;
        }
        add_row(acc, (const float *)offset.buf, self->classes, 1.0);
        PyBuffer_Release(&offset);
    }
    return 0;
}

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

/* ascii_tokens(text, table) -> list[str] | None: for an ASCII `text`, the words of
 * text.translate(table).split() where `table` is 128 bytes mapping each ASCII byte to another;
 * None for any other text (the caller takes its Python path). The split follows str.split():
 * runs of space, \t \n \v \f \r and \x1c-\x1f separate words. */
static int is_ascii_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

static PyObject *ascii_tokens(PyObject *module, PyObject *args) {
    PyObject *text;
    Py_buffer table;
    if (!PyArg_ParseTuple(args, "Uy*:ascii_tokens", &text, &table)) {
        return NULL;
    }
    if (table.len != 128) {
        PyBuffer_Release(&table);
        PyErr_SetString(PyExc_ValueError, "the table must map all 128 ASCII bytes");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(text)) {
        PyBuffer_Release(&table);
        Py_RETURN_NONE;
    }
    const unsigned char *map = (const unsigned char *)table.buf;
    const unsigned char *data = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *words = PyList_New(0);
    unsigned char stack_buffer[512];
    unsigned char *mapped = n <= (Py_ssize_t)sizeof(stack_buffer) ? stack_buffer : PyMem_Malloc(n ? n : 1);
    if (words == NULL || mapped == NULL) {
        Py_XDECREF(words);
        PyBuffer_Release(&table);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        mapped[i] = map[data[i] & 0x7f];
    }
    Py_ssize_t i = 0;
    while (i < n) {
        while (i < n && is_ascii_space(mapped[i])) {
            i++;
        }
        Py_ssize_t start = i;
        while (i < n && !is_ascii_space(mapped[i])) {
            i++;
        }
        if (i > start) {
            PyObject *word = PyUnicode_New(i - start, 127);
            if (word == NULL || (memcpy(PyUnicode_1BYTE_DATA(word), mapped + start, i - start),
                                 PyList_Append(words, word) < 0)) {
                Py_XDECREF(word);
                Py_CLEAR(words);
                break;
            }
            Py_DECREF(word);
        }
    }
    if (mapped != stack_buffer) {
        PyMem_Free(mapped);
    }
    PyBuffer_Release(&table);
    return words;
}

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
