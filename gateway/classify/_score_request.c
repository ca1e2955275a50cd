/* Scorer.predict_request: features.featurize(view, signals, tokens, with_system=False) and
 * Scorer.predict in one call, without building the feature lists (#included by _score.c).
 *
 * featurize spends most of its time making lists: stems looked up token by token, a tuple per
 * bigram, list concatenations, then the scorer walks them again. Here the stems are read from the
 * same memo (features._STEM_CACHE; misses go to its `fill` callback, which stems and stores them),
 * bigram keys are mixed from the two stems' hashes, and every group's rows are added in the order
 * featurize lists its items, so the logits are the same doubles as predict(featurize(...)).
 * classifier.py takes this path where the module is built; tests pin it to the list path.
 */

#define INSTRUCTION_TOKENS 40
#define LEAD_TOKENS 24
#define MAX_STEMMED (2 * INSTRUCTION_TOKENS + 2 * 64)

/* The bigrams (items[i], items[i + 1]) of n stems, keyed as item_key keys a (str, str) pair. */
static int group_add_pairs(Group *g, PyObject **items, Py_ssize_t n) {
    if (g->ns < 0) {
        return 0;
    }
    for (Py_ssize_t i = 0; i + 1 < n; i++) {
        if (!PyUnicode_CheckExact(items[i]) || !PyUnicode_CheckExact(items[i + 1])) {
            PyErr_SetString(PyExc_TypeError, "stems must be str");
            return -1;
        }
        Py_hash_t first = PyObject_Hash(items[i]), second = PyObject_Hash(items[i + 1]);
        if ((first == -1 || second == -1) && PyErr_Occurred()) {
            return -1;
        }
        group_add_key(g, pair_key(first, second, g->ns));
    }
    return 0;
}

/* Stems of `tokens` into `stems` (borrowed from the memo dict); misses are handed to `fill`, which
 * stores them (and must leave the token lists alone: `tokens` are borrowed from them). A full memo is cleared before new stems go in, which may drop stems read before the
 * call: the second read then stems those, into a memo with room. -1 with an exception. */
static int read_stems(PyObject *memo, PyObject *fill, PyObject **tokens, Py_ssize_t n, PyObject **stems) {
    for (int attempt = 0; attempt < 3; attempt++) {
        PyObject *missing = NULL;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (!PyUnicode_CheckExact(tokens[i])) { /* nor a subclass, whose __eq__ could change the lists */
                PyErr_SetString(PyExc_TypeError, "tokens must be str");
                Py_XDECREF(missing);
                return -1;
            }
            stems[i] = PyDict_GetItemWithError(memo, tokens[i]);
            if (stems[i] != NULL && !PyUnicode_CheckExact(stems[i])) {
                PyErr_SetString(PyExc_TypeError, "the stem memo must map str to str");
                Py_XDECREF(missing);
                return -1;
            }
            if (stems[i] == NULL) {
                if (PyErr_Occurred() || (missing == NULL && (missing = PyList_New(0)) == NULL) ||
                    PyList_Append(missing, tokens[i]) < 0) {
                    Py_XDECREF(missing);
                    return -1;
                }
            }
        }
        if (missing == NULL) {
            return 0;
        }
        PyObject *done = attempt < 2 ? PyObject_CallOneArg(fill, missing) : NULL;
        Py_DECREF(missing);
        if (done == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_RuntimeError, "the stem callback did not store every stem");
            }
            return -1;
        }
        Py_DECREF(done);
    }
    return -1; /* not reached */
}

static PyObject *ns_w, *ns_i, *ns_b, *ns_c, *ns_e, *ns_m, *ns_t, *ns_p, *ns_g, *bias_text, *no_text;

static int init_request_names(void) {
    ns_w = PyUnicode_InternFromString("w:");
    ns_i = PyUnicode_InternFromString("i:");
    ns_b = PyUnicode_InternFromString("b:");
    ns_c = PyUnicode_InternFromString("c:");
    ns_e = PyUnicode_InternFromString("e:");
    ns_m = PyUnicode_InternFromString("m:");
    ns_t = PyUnicode_InternFromString("t:");
    ns_p = PyUnicode_InternFromString("p:");
    ns_g = PyUnicode_InternFromString("g:");
    bias_text = PyUnicode_InternFromString("bias_text");
    no_text = PyUnicode_InternFromString("no_text");
    return (ns_w && ns_i && ns_b && ns_c && ns_e && ns_m && ns_t && ns_p && ns_g && bias_text && no_text) ? 0 : -1;
}

/* One normalised group of `n` items plus the bigrams of `pairs`/`n_pairs` (either may be empty). */
static int add_simple_group(Scorer *self, double *acc, PyObject *ns, PyObject **items, Py_ssize_t n,
                            PyObject **pairs, Py_ssize_t n_pairs) {
    Group g;
    if (n + n_pairs == 0) {
        return 0;
    }
    if (group_begin(&g, self, ns, 1, n + n_pairs) < 0) {
        return -1;
    }
    int status = group_add_all(&g, items, n) < 0 || group_add_pairs(&g, pairs, n_pairs) < 0 ? -1 : 0;
    group_end(&g, acc, 0.0);
    return status;
}

static PyObject *Scorer_predict_request(Scorer *self, PyObject *args) {
    PyObject *head, *tail, *first_clause, *last_clause, *previous, *signals, *memo, *fill, *offset_obj;
    int multi_turn, tools;
    Py_ssize_t intercept_row;
    if (!PyArg_ParseTuple(args, "O!O!O!O!OO!ppO!OnO:predict_request", &PyList_Type, &head, &PyList_Type, &tail,
                          &PyList_Type, &first_clause, &PyList_Type, &last_clause, &previous, &PyTuple_Type, &signals,
                          &multi_turn, &tools, &PyDict_Type, &memo, &fill, &intercept_row, &offset_obj)) {
        return NULL;
    }
    if (previous != Py_None && !PyList_Check(previous)) {
        PyErr_SetString(PyExc_TypeError, "previous must be a list of tokens or None");
        return NULL;
    }
    Py_ssize_t n_fc = PyList_GET_SIZE(first_clause), n_lc = PyList_GET_SIZE(last_clause);
    if (n_fc > 64 || n_lc > 64) {
        PyErr_SetString(PyExc_ValueError, "a clause has at most 64 tokens");
        return NULL;
    }
    int same = head == tail;
    Py_ssize_t n_head = PyList_GET_SIZE(head), n_tail = PyList_GET_SIZE(tail);
    Py_ssize_t n_body = same ? n_head : n_head + n_tail;
    Py_ssize_t n_first = n_head < INSTRUCTION_TOKENS ? n_head : INSTRUCTION_TOKENS;
    Py_ssize_t n_last = n_body > INSTRUCTION_TOKENS ? (n_tail < INSTRUCTION_TOKENS ? n_tail : INSTRUCTION_TOKENS) : 0;
    /* Tokens to stem, in order: first, last, first clause, last clause. */
    PyObject *tokens[MAX_STEMMED], *stems[MAX_STEMMED];
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < n_first; i++) {
        tokens[n++] = PyList_GET_ITEM(head, i);
    }
    for (Py_ssize_t i = n_tail - n_last; i < n_tail; i++) {
        tokens[n++] = PyList_GET_ITEM(tail, i);
    }
    for (Py_ssize_t i = 0; i < n_fc; i++) {
        tokens[n++] = PyList_GET_ITEM(first_clause, i);
    }
    for (Py_ssize_t i = 0; i < n_lc; i++) {
        tokens[n++] = PyList_GET_ITEM(last_clause, i);
    }
    if (read_stems(memo, fill, tokens, n, stems) < 0) {
        return NULL;
    }
    PyObject **first = stems, **last = stems + n_first, **fc = last + n_last, **lc = fc + n_fc;
    double acc[MAX_CLASSES] = {0.0};
    PyObject *carets[2] = {NULL, NULL};
    PyObject *result = NULL;
    if (intercept_row >= self->rows) {
        PyErr_Format(PyExc_ValueError, "intercept row %zd outside the table's %zd rows", intercept_row, self->rows);
        return NULL;
    }
    if (intercept_row >= 0) {
        add_row(acc, (const float *)self->table.buf + intercept_row * self->classes, self->classes, 1.0);
    }
    Group g;
    /* w: the body's tokens */
    if (n_body) {
        if (group_begin(&g, self, ns_w, 1, n_body) < 0) {
            return NULL;
        }
        int status = group_add_all(&g, PySequence_Fast_ITEMS(head), n_head);
        if (status == 0 && !same) {
            status = group_add_all(&g, PySequence_Fast_ITEMS(tail), n_tail);
        }
        group_end(&g, acc, 0.0);
        if (status < 0) {
            return NULL;
        }
    }
    /* i: instruction stems; b: their bigrams, the first window's then the last's */
    if (add_simple_group(self, acc, ns_i, first, n_first + n_last, NULL, 0) < 0) {
        return NULL;
    }
    if (n_first > 1 || n_last > 1) {
        if (group_begin(&g, self, ns_b, 1, n_first + n_last) < 0) {
            return NULL;
        }
        int status = group_add_pairs(&g, first, n_first) < 0 || group_add_pairs(&g, last, n_last) < 0 ? -1 : 0;
        group_end(&g, acc, 0.0);
        if (status < 0) {
            return NULL;
        }
    }
    /* c: first clause stems, "^" + its first two, its bigrams */
    if (n_fc) {
        for (Py_ssize_t i = 0; i < n_fc && i < 2; i++) {
            if ((carets[i] = PyUnicode_FromFormat("^%U", fc[i])) == NULL) {
                goto done;
            }
        }
        if (group_begin(&g, self, ns_c, 1, 2 * n_fc + 2) < 0) {
            goto done;
        }
        int status = group_add_all(&g, fc, n_fc) < 0 || group_add_all(&g, carets, n_fc < 2 ? n_fc : 2) < 0 ||
                     group_add_pairs(&g, fc, n_fc) < 0 ? -1 : 0;
        group_end(&g, acc, 0.0);
        if (status < 0) {
            goto done;
        }
    }
    /* e: last clause stems and bigrams */
    if (add_simple_group(self, acc, ns_e, lc, n_lc, lc, n_lc) < 0) {
        goto done;
    }
    /* m: / t: the first clause (or the first 24 instruction stems) in a chat / with tools */
    PyObject **lead = n_fc ? fc : first;
    Py_ssize_t n_lead = n_fc ? n_fc : (n_first < LEAD_TOKENS ? n_first : LEAD_TOKENS);
    if ((multi_turn && add_simple_group(self, acc, ns_m, lead, n_lead, NULL, 0) < 0) ||
        (tools && add_simple_group(self, acc, ns_t, lead, n_lead, NULL, 0) < 0)) {
        goto done;
    }
    /* p: the previous user turn's tokens */
    if (previous != Py_None &&
        add_simple_group(self, acc, ns_p, PySequence_Fast_ITEMS(previous), PyList_GET_SIZE(previous), NULL, 0) < 0) {
        goto done;
    }
    /* g: the signals and the text bias, at half strength, not normalised */
    if (group_begin(&g, self, ns_g, 0, 0) < 0) {
        goto done;
    }
    PyObject *bias = n_body ? bias_text : no_text;
    int status = group_add_all(&g, PySequence_Fast_ITEMS(signals), PyTuple_GET_SIZE(signals)) < 0 ||
                 group_add_all(&g, &bias, 1) < 0 ? -1 : 0;
    group_end(&g, acc, SIGNAL_VALUE);
    if (status < 0 || add_offset(self, acc, offset_obj) < 0) {
        goto done;
    }
    result = top_class(self, acc);
done:
    Py_XDECREF(carets[0]);
    Py_XDECREF(carets[1]);
    return result;
}
