/* Scorer's feature groups: a row added per key, each group's keys deduplicated in first-seen order, and the
 * offset row (#included by _score.c, after the Scorer type and its hash table). */

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
