/*
 * lg_gate_internal.h — the CI gate's result, shared by gate.c (merging,
 * baseline, classification) and gate_render.c (text, Markdown, JUnit XML,
 * HTML).  Everything points into the parsed reports and baseline, which
 * the gate keeps until lg_gate_free().
 */
#ifndef LG_GATE_INTERNAL_H
#define LG_GATE_INTERNAL_H

#ifndef LG_BUILDING_LIBRARY
#error "lg_gate_internal.h is internal to leakgate; include <leakgate/plugin.h>"
#endif

#include "lg_plugin_internal.h"

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

/* One (test, signature) pair, now and in the baseline. */
typedef struct lg__gate_leak {
    const char *test;              /* borrowed (report or baseline) */
    char *signature;               /* owned */
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
