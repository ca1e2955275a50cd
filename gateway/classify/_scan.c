/* The structural signals' text scan in C, for ASCII text (textscan.py has the Python twin and says why).
 *
 * Scanner(needles, word_flags, code_starts, file_starts, edge_tokens, edge_chars, head_lines, tail_lines,
 *         number_chars) holds what signals.py declared: needles as (where, bytes, gate, bit) with `where`
 * 0 task, 1 head window, 2 the window lower-cased, 3 its first and last `edge_chars` characters joined
 * by "\n"; a needle with a non-zero gate is only searched for when a word with one of those flags
 * occurs, and sets `bit` (0-63) when found. Scanner.scan(task, head, head_tokens, tail_tokens)
 * returns the same tuple as textscan.Scanner.scan_python, or None when task or head is not ASCII.
 *
 * Speed: a memmem over a 500-byte window costs 80-270 ns and there are ~40 needles, so the window
 * gets a bitmap of the byte pairs its lower-cased copy contains (16,384 bits: an ASCII pair indexes
 * it exactly) and a needle is only searched for when all its lower-cased pairs are present. Word flags are read from a small
 * open-addressing table keyed by the tokens' cached str hashes and checked byte for byte.
 */
#define PY_SSIZE_T_CLEAN /* Python.h defines _GNU_SOURCE, which declares memmem */
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define COUNTED_NUMBERS 3

#define PAIR_WORDS (16384 / 64)

typedef struct {
    int where;
    int bit;
    uint64_t gate;
    Py_ssize_t length;
    char *bytes;
} Needle;

typedef struct {
    Py_hash_t hash;
    uint64_t flags;
    Py_ssize_t length; /* -1: empty slot */
    char *bytes;
} WordSlot;

typedef struct {
    Py_ssize_t count;
    char **bytes;
    Py_ssize_t *lengths;
} Prefixes;

typedef struct {
    PyObject_HEAD
    Needle *needles;
    Py_ssize_t n_needles;
    WordSlot *words;
    uint64_t word_mask;
    Prefixes code_starts;
    Prefixes file_starts;
    Py_ssize_t edge_tokens, edge_chars, head_lines, tail_lines, number_chars;
} Scanner;

static int read_prefixes(PyObject *tuple, Prefixes *out) {
    if (!PyTuple_Check(tuple)) {
        PyErr_SetString(PyExc_TypeError, "line prefixes must be a tuple of bytes");
        return -1;
    }
    out->count = PyTuple_GET_SIZE(tuple);
    out->bytes = PyMem_Calloc(out->count ? out->count : 1, sizeof(char *));
    out->lengths = PyMem_Calloc(out->count ? out->count : 1, sizeof(Py_ssize_t));
    if (out->bytes == NULL || out->lengths == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < out->count; i++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, i);
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) == 0) {
            PyErr_SetString(PyExc_TypeError, "line prefixes must be non-empty bytes");
            return -1;
        }
        out->lengths[i] = PyBytes_GET_SIZE(item);
        out->bytes[i] = PyMem_Malloc(out->lengths[i]);
        if (out->bytes[i] == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(out->bytes[i], PyBytes_AS_STRING(item), out->lengths[i]);
    }
    return 0;
}

static void free_prefixes(Prefixes *p) {
    if (p->bytes != NULL) {
        for (Py_ssize_t i = 0; i < p->count; i++) {
            PyMem_Free(p->bytes[i]);
        }
    }
    PyMem_Free(p->bytes);
    PyMem_Free(p->lengths);
    p->bytes = NULL;
    p->lengths = NULL;
    p->count = 0;
}

static void Scanner_clear(Scanner *self) {
    if (self->needles != NULL) {
        for (Py_ssize_t i = 0; i < self->n_needles; i++) {
            PyMem_Free(self->needles[i].bytes);
        }
        PyMem_Free(self->needles);
        self->needles = NULL;
    }
    self->n_needles = 0;
    free_prefixes(&self->code_starts);
    free_prefixes(&self->file_starts);
    if (self->words != NULL) {
        for (uint64_t i = 0; i <= self->word_mask; i++) {
            PyMem_Free(self->words[i].bytes);
        }
        PyMem_Free(self->words);
        self->words = NULL;
    }
}

/* The word table from {word: flags}; words that are not ASCII can never match an ASCII token. */
static int read_words(Scanner *self, PyObject *flags) {
    uint64_t size = 16;
    while (size < (uint64_t)PyDict_GET_SIZE(flags) * 4) {
        size <<= 1;
    }
    self->words = PyMem_Calloc(size, sizeof(WordSlot));
    if (self->words == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->word_mask = size - 1;
    for (uint64_t i = 0; i < size; i++) {
        self->words[i].length = -1;
    }
    Py_ssize_t pos = 0;
    PyObject *word, *value;
    while (PyDict_Next(flags, &pos, &word, &value)) {
        if (!PyUnicode_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "word flags must map str to int");
            return -1;
        }
        unsigned long long bits = PyLong_AsUnsignedLongLong(value);
        Py_hash_t hash = PyObject_Hash(word);
        if ((bits == (unsigned long long)-1 || hash == -1) && PyErr_Occurred()) {
            return -1;
        }
        if (!PyUnicode_IS_ASCII(word)) {
            continue;
        }
        uint64_t at = (uint64_t)hash & self->word_mask;
        while (self->words[at].length >= 0) {
            at = (at + 1) & self->word_mask;
        }
        Py_ssize_t length = PyUnicode_GET_LENGTH(word);
        self->words[at].bytes = PyMem_Malloc(length ? length : 1);
        if (self->words[at].bytes == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(self->words[at].bytes, PyUnicode_1BYTE_DATA(word), length);
        self->words[at].length = length;
        self->words[at].hash = hash;
        self->words[at].flags = bits;
    }
    return 0;
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwargs) {
    PyObject *needles, *word_flags, *code_starts, *file_starts;
    Scanner_clear(self);
    if (!PyArg_ParseTuple(args, "O!O!O!O!nnnnn:Scanner", &PyList_Type, &needles, &PyDict_Type, &word_flags, &PyTuple_Type,
                          &code_starts, &PyTuple_Type, &file_starts, &self->edge_tokens, &self->edge_chars,
                          &self->head_lines, &self->tail_lines, &self->number_chars)) {
        return -1;
    }
    if (self->edge_tokens < 0 || self->edge_chars < 0 || self->head_lines < 0 || self->tail_lines < 0) {
        PyErr_SetString(PyExc_ValueError, "sizes must not be negative");
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(needles);
    self->needles = PyMem_Calloc(n ? n : 1, sizeof(Needle));
    if (self->needles == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *spec = PyList_GET_ITEM(needles, i);
        int where, bit;
        const char *bytes;
        Py_ssize_t length;
        unsigned long long gate;
        if (!PyTuple_Check(spec) || !PyArg_ParseTuple(spec, "iy#Ki", &where, &bytes, &length, &gate, &bit)) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "each needle must be a (where, bytes, gate, bit) tuple");
            }
            return -1;
        }
        if (where < 0 || where > 3 || length == 0 || bit < 0 || bit > 63) {
            PyErr_SetString(PyExc_ValueError, "a needle needs a place 0-3, at least one byte and a bit 0-63");
            return -1;
        }
        for (Py_ssize_t k = 0; k < length; k++) {
            if ((unsigned char)bytes[k] > 127) {
                PyErr_SetString(PyExc_ValueError, "needles must be ASCII");
                return -1;
            }
        }
        self->needles[i].bytes = PyMem_Malloc(length);
        if (self->needles[i].bytes == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(self->needles[i].bytes, bytes, length);
        self->needles[i].length = length;
        self->needles[i].where = where;
        self->needles[i].gate = gate;
        self->needles[i].bit = bit;
        self->n_needles = i + 1;
    }
    if (read_words(self, word_flags) < 0 || read_prefixes(code_starts, &self->code_starts) < 0 || read_prefixes(file_starts, &self->file_starts) < 0) {
        return -1;
    }
    return 0;
}

static void Scanner_dealloc(Scanner *self) {
    Scanner_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

#include "_scan_text.c"

static PyObject *Scanner_scan(Scanner *self, PyObject *args) {
    PyObject *task, *head, *head_tokens, *tail_tokens;
    if (!PyArg_ParseTuple(args, "UUO!O!:scan", &task, &head, &PyList_Type, &head_tokens, &PyList_Type, &tail_tokens)) {
        return NULL;
    }
    if (self->needles == NULL || self->words == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner was not initialised");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(task) || !PyUnicode_IS_ASCII(head)) {
        Py_RETURN_NONE;
    }
    uint64_t words = 0, edges = 0;
    int same = head_tokens == tail_tokens;
    if (read_tokens(self, head_tokens, 1, same, &words, &edges) < 0 ||
        (!same && read_tokens(self, tail_tokens, 0, 1, &words, &edges) < 0)) {
        return NULL;
    }
    const char *task_text = (const char *)PyUnicode_1BYTE_DATA(task);
    const char *head_text = (const char *)PyUnicode_1BYTE_DATA(head);
    Py_ssize_t task_n = PyUnicode_GET_LENGTH(task), head_n = PyUnicode_GET_LENGTH(head);
    char stack_low[4096];
    char *low = head_n <= (Py_ssize_t)sizeof(stack_low) ? stack_low : PyMem_Malloc(head_n);
    Py_ssize_t edge = head_n < self->edge_chars ? head_n : self->edge_chars;
    char *edges_low = PyMem_Malloc(2 * edge + 1);
    PyObject *files = PyList_New(0), *speakers = PyList_New(0), *result = NULL;
    uint64_t pairs[PAIR_WORDS];
    if (low == NULL || edges_low == NULL || files == NULL || speakers == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    lower_and_pairs((const unsigned char *)head_text, head_n, low, pairs);
    memcpy(edges_low, low, edge);
    edges_low[edge] = '\n';
    memcpy(edges_low + edge + 1, low + head_n - edge, edge);
    const char *texts[4] = {task_text, head_text, low, edges_low};
    Py_ssize_t lengths[4] = {task_n, head_n, head_n, 2 * edge + 1};
    /* A long task is searched as it is (its window's pairs say nothing of the rest); a needle has no
     * "\n" to span the join of the edges, so its pairs must be in the lower-cased window's. */
    const uint64_t *filters[4] = {task == head ? pairs : NULL, pairs, pairs, pairs};
    uint64_t found = 0;
    for (Py_ssize_t i = 0; i < self->n_needles; i++) {
        const Needle *needle = &self->needles[i];
        uint64_t bit = (uint64_t)1 << needle->bit;
        if (!(found & bit) && (needle->gate == 0 || (words & needle->gate)) &&
            contains(texts[needle->where], lengths[needle->where], needle, filters[needle->where])) {
            found |= bit;
        }
    }
    long fences = 0;
    for (const char *p = head_text; (p = memmem(p, head_text + head_n - p, "```", 3)) != NULL; p += 3) {
        fences++;
    }
    int numbers = task_n < self->number_chars ? count_numbers((const unsigned char *)task_text, task_n) : 0;
    long code = 0;
    if (read_lines(self, head_text, head_n, &code, files, speakers) < 0) {
        goto done;
    }
    result = Py_BuildValue("(KKKliiOO)", (unsigned long long)found, (unsigned long long)words,
                           (unsigned long long)edges, fences, numbers, (int)code, files, speakers);
done:
    Py_XDECREF(files);
    Py_XDECREF(speakers);
    PyMem_Free(edges_low);
    if (low != stack_low) {
        PyMem_Free(low);
    }
    return result;
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS,
     "scan(task, head, head_tokens, tail_tokens) -> facts tuple (see textscan.Scanner), or None for non-ASCII text."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "gateway.classify._scan.Scanner",
    .tp_doc = PyDoc_STR("Scanner(needles, word_flags, ...): the signals' text facts in one call (textscan.py)."),
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "The structural signals' text scan in C (see textscan.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) {
    if (PyType_Ready(&ScannerType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
