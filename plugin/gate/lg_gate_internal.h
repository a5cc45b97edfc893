/*
 * lg_gate_internal.h — what the gate's modules share: the JSON parse tree
 * (json_tree.c) and the gate's result, built by gate.c (merging, baseline,
 * classification) and read by render.c (text, Markdown, JUnit XML, HTML).
 * Everything points into the parsed reports and baseline, which the gate
 * keeps until lg_gate_free().  None of this is in libleakgate.so.
 */
#ifndef LG_GATE_INTERNAL_H
#define LG_GATE_INTERNAL_H

#ifndef LG_BUILDING_LIBRARY
#error "lg_gate_internal.h is internal to leakgate; include <leakgate/gate.h>"
#endif

#include "lg_plugin_internal.h"
#include <leakgate/gate.h>

/* ---- the JSON parse tree (json_tree.c) ------------------------------------ */

/* A parsed JSON value, for readers of reports and baselines.  Built by
 * json_tree.c with the scanner of json.c (one grammar for merging and
 * reading). */
typedef enum {
    LG__JSON_NULL,
    LG__JSON_BOOL,
    LG__JSON_NUMBER,
    LG__JSON_STRING,
    LG__JSON_ARRAY,
    LG__JSON_OBJECT
} lg__json_type_t;

typedef struct lg__json lg__json_t;
struct lg__json {
    uint8_t type;  /* lg__json_type_t */
    bool boolean;
    bool is_int;   /* NUMBER written as an integer that fits int64_t */
    uint32_t n;    /* ARRAY and OBJECT: elements */
    union {
        struct {
            int64_t integer; /* valid when is_int */
            double number;
        };
        char *string; /* STRING: decoded UTF-8; \u0000 becomes U+FFFD */
        struct {
            lg__json_t **items; /* ARRAY elements, OBJECT values */
            char **keys;        /* OBJECT keys, decoded */
        };
    };
};

/* Parses one JSON document.  Returns 0 (caller frees *out with
 * lg__json_free), LG_EFORMAT (err: "offset N: what") or LG_ENOMEM.  The
 * tree is read-only: equal strings, keys and scalar values may be one
 * node shared by several parents. */
int lg__json_parse(const char *text, size_t len, lg__json_t **out, char *err, size_t errlen);

/* Frees a whole document (the root from lg__json_parse; NULL is fine). */
void lg__json_free(lg__json_t *v);

/* The member `key` of an object (the last one when repeated), or NULL when
 * absent or obj is not an object.  Borrowed from obj. */
const lg__json_t *lg__json_get(const lg__json_t *obj, const char *key);

/* ---- the gate's result (gate.c) ------------------------------------------- */

/* One test after merging: the instances of its highest attempt. */
typedef struct lg__gate_test {
    const char *id;     /* borrowed from a report */
    const char *report; /* the report it came from, borrowed */
    int64_t attempt;
    lg_outcome_t outcome; /* the worst of its instances */
    int64_t size_diff, count_diff;
    size_t instances;
    const lg__json_t **rows; /* leak rows of every instance, lg__xmalloc'd */
    size_t nrows;
    size_t first_leak, nleaks; /* its leaks in lg_gate.leaks, any status */
} lg__gate_test_t;

/* One (test, signature, kind) triple, now and in the baseline. */
typedef struct lg__gate_leak {
    const char *test;              /* borrowed (report or baseline) */
    char *signature;               /* owned */
    int kind; /* LG_KIND_*, or -1: none (a baseline entry without one covers every kind) */
    int64_t size, count;           /* now; 0 when fixed or unchecked */
    int64_t base_size, base_count; /* -1 when not in the baseline */
    lg_gate_status_t status;
    const lg__json_t *traceback; /* frames of its biggest row, or NULL */
    int64_t shown_size;          /* that row's size_diff */
} lg__gate_leak_t;

/* An allocation site across the suite: current leaks by signature. */
typedef struct lg__gate_site {
    const char *signature; /* borrowed from a leak */
    int64_t size, count;
    size_t tests;
    const lg__json_t *traceback;
} lg__gate_site_t;

struct lg_gate {
    char **names;      /* report names, owned */
    lg__json_t **docs; /* parsed reports, owned */
    size_t nreports;
    lg__arena_t param_ids; /* "ID[N]" of parameterized instances, owned */

    lg__json_t *baseline; /* parsed baseline or NULL, owned */
    char *baseline_name;  /* owned */

    lg__gate_test_t *tests; /* sorted by id */
    size_t ntests;
    lg__gate_leak_t *leaks; /* sorted by test, then signature */
    size_t nleaks;
    lg__gate_site_t *sites; /* biggest first */
    size_t nsites;
    lg_gate_opts_t opts;
    lg_gate_counts_t counts;
    bool compared;
};

/* The signature of a traceback (a JSON array of frames).  Caller frees. */
char *lg__gate_signature(const lg__json_t *traceback);

/* Renders the frames of a JSON traceback as lg_render_traceback does. */
char *lg__gate_render_frames(const lg__json_t *traceback, const char *indent);

#endif /* LG_GATE_INTERNAL_H */
