/* The tokenizer's ASCII path, _score.ascii_tokens (#included by _score.c; features.py and signals.py call it). */

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
