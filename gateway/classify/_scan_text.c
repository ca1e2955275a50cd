/* Scanner.scan's text helpers: ASCII character classes, the lower-cased copy and its byte-pair bitmap, needle
 * search, token flags, number counting and the window's lines (#included by _scan.c, after the Scanner type). */

/* str.isspace() for an ASCII character: str.strip() and str.split() treat these as whitespace. */
static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_word(unsigned char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static unsigned lower(unsigned c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* The lower-cased copy of an ASCII text and its byte pairs: bit (a << 7 | b) for each adjacent a, b. An
 * occurrence of a needle in the text is an occurrence of the lower-cased needle in the copy, so these
 * pairs rule out case-sensitive needles too. */
static void lower_and_pairs(const unsigned char *text, Py_ssize_t n, char *low, uint64_t *pairs) {
    memset(pairs, 0, PAIR_WORDS * sizeof(uint64_t));
    unsigned previous = n ? lower(text[0]) : 0;
    if (n) {
        low[0] = (char)previous;
    }
    for (Py_ssize_t i = 1; i < n; i++) {
        unsigned c = lower(text[i]), index = (previous << 7) | c;
        low[i] = (char)c;
        pairs[index >> 6] |= (uint64_t)1 << (index & 63);
        previous = c;
    }
}

/* Whether `needle` occurs in `text`; `pairs` (or NULL) are the lower-cased text's byte pairs, a quick no. */
static int contains(const char *text, Py_ssize_t n, const Needle *needle, const uint64_t *pairs) {
    const unsigned char *b = (const unsigned char *)needle->bytes;
    if (needle->length > n) {
        return 0;
    }
    if (pairs != NULL) {
        for (Py_ssize_t i = 1; i < needle->length; i++) {
            unsigned index = (lower(b[i - 1]) << 7) | lower(b[i]);
            if (!(pairs[index >> 6] & ((uint64_t)1 << (index & 63)))) {
                return 0;
            }
        }
    }
    return memmem(text, n, needle->bytes, needle->length) != NULL;
}

/* Flags of one token (0 for none); -1 with an exception. Only exact str: a subclass's __hash__
 * could run Python code that changes the token lists under this loop. */
static int token_flags(Scanner *self, PyObject *token, uint64_t *flags) {
    *flags = 0;
    if (!PyUnicode_CheckExact(token)) {
        PyErr_SetString(PyExc_TypeError, "tokens must be str");
        return -1;
    }
    Py_hash_t hash = PyObject_Hash(token);
    if (hash == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (!PyUnicode_IS_ASCII(token)) {
        return 0;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(token);
    for (uint64_t at = (uint64_t)hash & self->word_mask; self->words[at].length >= 0; at = (at + 1) & self->word_mask) {
        const WordSlot *slot = &self->words[at];
        if (slot->hash == hash && slot->length == length && memcmp(slot->bytes, PyUnicode_1BYTE_DATA(token), length) == 0) {
            *flags = slot->flags;
            return 0;
        }
    }
    return 0;
}

/* OR of the flags of tokens[start:stop] into *all, and of those at an edge index into *edges. */
static int read_tokens(Scanner *self, PyObject *tokens, int head, int tail, uint64_t *all, uint64_t *edges) {
    Py_ssize_t n = PyList_GET_SIZE(tokens);
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t flags;
        if (token_flags(self, PyList_GET_ITEM(tokens, i), &flags) < 0) {
            return -1;
        }
        *all |= flags;
        if ((head && i < self->edge_tokens) || (tail && i >= n - self->edge_tokens)) {
            *edges |= flags;
        }
    }
    return 0;
}

/* The numbers of textscan.NUMBER in text, up to COUNTED_NUMBERS: a digit whose previous character is
 * not a word character or '.', then digits, an optional [.,] with digits, an optional '%'. */
static int count_numbers(const unsigned char *c, Py_ssize_t n) {
    int count = 0;
    Py_ssize_t i = 0;
    while (i < n && count < COUNTED_NUMBERS) {
        if (!is_digit(c[i]) || (i > 0 && (is_word(c[i - 1]) || c[i - 1] == '.'))) {
            i++;
            continue;
        }
        count++;
        i++;
        while (i < n && is_digit(c[i])) {
            i++;
        }
        if (i + 1 < n && (c[i] == '.' || c[i] == ',') && is_digit(c[i + 1])) {
            i += 2;
            while (i < n && is_digit(c[i])) {
                i++;
            }
        }
        if (i < n && c[i] == '%') {
            i++;
        }
    }
    return count;
}

static int starts_with_any(const char *s, Py_ssize_t n, const Prefixes *p) {
    for (Py_ssize_t i = 0; i < p->count; i++) {
        if (p->lengths[i] <= n && memcmp(s, p->bytes[i], p->lengths[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* One line of the window: code-line count, candidate file-header and speaker lines. */
static int read_line(Scanner *self, const char *line, Py_ssize_t n, long *code, PyObject *files, PyObject *speakers) {
    while (n > 0 && is_space((unsigned char)*line)) {
        line++;
        n--;
    }
    if (n == 0) {
        return 0;
    }
    if (starts_with_any(line, n, &self->code_starts)) {
        (*code)++;
    }
    int file = starts_with_any(line, n, &self->file_starts);
    int speaker = memchr(line, ':', n < 24 ? n : 24) != NULL;
    if (!file && !speaker) {
        return 0;
    }
    PyObject *text = PyUnicode_DecodeASCII(line, n, NULL);
    if (text == NULL || (file && PyList_Append(files, text) < 0) || (speaker && PyList_Append(speakers, text) < 0)) {
        Py_XDECREF(text);
        return -1;
    }
    Py_DECREF(text);
    return 0;
}

/* The window's lines as head.split("\n"), only the first head_lines and last tail_lines when longer. */
static int read_lines(Scanner *self, const char *head, Py_ssize_t n, long *code, PyObject *files, PyObject *speakers) {
    Py_ssize_t total = 1;
    for (const char *p = head; (p = memchr(p, '\n', head + n - p)) != NULL; p++) {
        total++;
    }
    int bounded = total > self->head_lines + self->tail_lines;
    const char *start = head;
    for (Py_ssize_t index = 0; index < total; index++) {
        const char *end = memchr(start, '\n', head + n - start);
        if (end == NULL) {
            end = head + n;
        }
        if (!bounded || index < self->head_lines || index >= total - self->tail_lines) {
            if (read_line(self, start, end - start, code, files, speakers) < 0) {
                return -1;
            }
        }
        start = end + 1;
    }
    return 0;
}
