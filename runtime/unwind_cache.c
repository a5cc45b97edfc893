/*
 * unwind_cache.c — libunwind mode's traceback cache: a thread that
 * allocates again from where it allocated before gets the traceback
 * libunwind gave then, without unwinding, when nothing libunwind's walk
 * depends on has changed.
 *
 * Entry points: lg__unwc_cached() (backtrace.c's lg__backtrace_cached, in
 * LEAKGATE_UNWIND=libunwind mode), lg__unwc_learn() right after a libunwind
 * walk, lg__unwc_put() once that walk's traceback is interned.
 *
 * What libunwind's walk depends on.  unw_backtrace() first tries its fast
 * trace (src/x86_64/Gtrace.c of libunwind 1.6), which handles a frame whose
 * unwind rule, from the .eh_frame entry of its return address, is
 * "standard": CFA = RSP + k or RBP + k, the return address at CFA - 8, RBP
 * unchanged or saved at CFA + j, RSP = CFA; a frame whose rule leaves the
 * return address (or RBP) undefined ends the traceback (_start, clone).
 * From one frame's (PC, SP, RBP) it reads the return address at CFA - 8
 * and, when the rule says so, RBP at CFA + j, and that is the next frame.
 * So a walk is a function of: the first caller frame's (PC, SP, RBP), the
 * rules of the PCs met, and the words it loads.
 *
 * Rules.  rule_compute() finds a return address's entry in its object's
 * .eh_frame_hdr table and runs the CFI program up to the return address
 * minus 1, as libunwind does, and classifies the result with libunwind's
 * test for a standard frame (tdep_stash_frame).  Anything else — no entry,
 * a signal frame ('S'), any DWARF expression, a register saved in another,
 * an encoding or opcode not handled here, a CIE other than version 1 or 3
 * — is "unknown", and a walk that meets it is not cached.  The .eh_frame
 * of an object is read only inside a dl_iterate_phdr() callback that lists
 * it (the loader holds its lock, under which dlclose unlists and unmaps),
 * with every read bounded by the object's segment.  Each thread keeps the
 * rules it computed, tagged with the generation of loaded objects
 * (bumped by the dlclose hook), as libunwind keeps its own.
 *
 * Learning.  After unw_backtrace(), lg__unwc_learn() walks again with
 * these rules from the first frame above the tracer (the tracer is built
 * with frame pointers: its outermost frame record `rec` holds that
 * frame's RBP at rec[0] and its PC at rec[1], and its SP is rec + 16),
 * recording the address and value of every word the result depends on:
 * the PC and each return address, and RBP (rec[0] or a saved slot) where
 * a rule computes the CFA from it.  It keeps the record only when every
 * frame is standard or the last one, every word read lies in this
 * thread's stack between SP and its top, and its frames are libunwind's,
 * frame for frame, with the same length (at most limit + 1: one past the
 * limit tells that the traceback was cut).
 *
 * Why a hit is exact.  A look-up finds the entry of the same `rec` (the
 * first frame's SP), limit and generation of objects, and loads every
 * recorded word again; it answers only when all are unchanged (and no
 * unwind information was registered with libunwind at run time, which it
 * would consult first).  By induction over the frames: the first frame's
 * PC and, where used, RBP are the recorded ones; a frame's rule is a
 * function of its PC and the objects; its CFA is a function of its SP or
 * RBP and the rule; the next PC and RBP are words loaded at addresses
 * computed from these, which hold the recorded values.  So libunwind's
 * fast trace would read the same words and produce the same frames, and
 * the traceback interned from them is the one the entry holds.  Words
 * the walk loaded but never used (a saved RBP no later rule reads) are not
 * checked: they change nothing.  The addresses re-read lie between the
 * first frame's SP and the top of this thread's stack: mapped.
 *
 * What this rests on: that the rules computed here are those libunwind
 * computes for the frames it classifies as standard (mirrored from its
 * sources; a walk whose frames differ from libunwind's is never cached),
 * and that the tracer's own frames keep frame pointers.
 */
#include "lg_internal.h"

#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

/* ---- rules --------------------------------------------------------------- */

/* DWARF register numbers on x86-64: RBP, RSP, the return address column;
 * libunwind knows 17 (DWARF_NUM_PRESERVED_REGS). */
enum { R_RBP = 6, R_RSP = 7, R_RA = 16, NREGS = 17 };

enum { RULE_UNKNOWN, RULE_STD, RULE_LAST };
enum { RULE_CFA_RBP = 1, RULE_RBP_SAVED = 2 };

struct rule {
    int32_t cfa_off; /* CFA = RSP or RBP (RULE_CFA_RBP) + cfa_off */
    int16_t rbp_off; /* RBP saved at CFA + rbp_off (RULE_RBP_SAVED) */
    uint8_t kind;    /* RULE_* */
    uint8_t flags;
};

/* Where a register is after the frame (libunwind's dwarf_where_t). */
enum { W_SAME, W_UNDEF, W_CFAREL, W_REG, W_EXPR };

struct regstate {
    uint8_t where[NREGS];
    int64_t val[NREGS];
    uint8_t cfa_where; /* W_REG or W_EXPR (W_SAME until defined) */
    uint64_t cfa_reg;
    int64_t cfa_off;
};

/* Bounded reads of an object's unwind tables: a read past `end` sets bad. */
struct rd {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t rd_bytes(struct rd *r, size_t n)
{
    uint64_t v = 0;
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return 0;
    }
    memcpy(&v, r->p, n); /* little-endian */
    r->p += n;
    return v;
}

static uint64_t rd_uleb(struct rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = (uint8_t)rd_bytes(r, 1);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80) || r->bad)
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t rd_sleb(struct rd *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        if (shift >= 64) {
            r->bad = true;
            return 0;
        }
        b = (uint8_t)rd_bytes(r, 1);
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) && !r->bad);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* A DW_EH_PE-encoded pointer as libunwind reads one (absolute or relative
 * to the field; 0 stays 0); other applications, indirection when `deref`
 * is not allowed, and alignment are refused (bad). */
static uint64_t rd_encoded(struct rd *r, uint8_t enc, bool indirect_ok)
{
    if (enc == 0xff) /* DW_EH_PE_omit */
        return 0;
    uintptr_t field = (uintptr_t)r->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case 0x00: v = rd_bytes(r, 8); break;
    case 0x01: v = rd_uleb(r); break;
    case 0x02: v = rd_bytes(r, 2); break;
    case 0x03: v = rd_bytes(r, 4); break;
    case 0x04: v = rd_bytes(r, 8); break;
    case 0x09: v = (uint64_t)rd_sleb(r); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_bytes(r, 2); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_bytes(r, 4); break;
    case 0x0c: v = rd_bytes(r, 8); break;
    default: r->bad = true; return 0;
    }
    if (((enc & 0x80) && !indirect_ok) || ((enc & 0x70) != 0x00 && (enc & 0x70) != 0x10)) {
        r->bad = true;
        return 0;
    }
    if (v == 0)
        return 0;
    return (enc & 0x70) == 0x10 ? v + field : v;
}

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc, lsda_enc;
    bool sized; /* 'z' */
    const uint8_t *instr, *instr_end;
};

/* Parses the CIE at p (inside [lo, hi)); false when it is not one this
 * file handles as libunwind does. */
static bool cie_parse(const uint8_t *p, const uint8_t *lo, const uint8_t *hi, struct cie *c)
{
    if (p < lo || p >= hi)
        return false;
    struct rd r = {p, hi, false};
    uint32_t len = (uint32_t)rd_bytes(&r, 4);
    if (len == 0 || len == 0xffffffffu || (size_t)(hi - r.p) < len)
        return false;
    c->instr_end = r.p + len;
    r.end = c->instr_end;
    if (rd_bytes(&r, 4) != 0) /* .eh_frame's CIE id */
        return false;
    uint8_t version = (uint8_t)rd_bytes(&r, 1);
    if (version != 1 && version != 3)
        return false;
    char aug[8];
    size_t na = 0;
    for (;;) {
        char ch = (char)rd_bytes(&r, 1);
        if (r.bad || !ch)
            break;
        if (na == 4) /* libunwind keeps the first four */
            return false;
        aug[na++] = ch;
    }
    c->code_align = rd_uleb(&r);
    c->data_align = rd_sleb(&r);
    uint64_t ra_col = version == 1 ? rd_bytes(&r, 1) : rd_uleb(&r);
    if (ra_col != R_RA)
        return false;
    c->fde_enc = 0x04; /* udata8: address-sized */
    c->lsda_enc = 0xff;
    c->sized = na > 0 && aug[0] == 'z';
    if (c->sized)
        rd_uleb(&r);
    for (size_t i = c->sized; i < na; i++) {
        switch (aug[i]) {
        case 'L': c->lsda_enc = (uint8_t)rd_bytes(&r, 1); break;
        case 'R': c->fde_enc = (uint8_t)rd_bytes(&r, 1); break;
        case 'P': {
            uint8_t enc = (uint8_t)rd_bytes(&r, 1);
            if (enc == 0x50) /* aligned */
                return false;
            rd_encoded(&r, enc, true);
            break;
        }
        default: return false; /* 'S' (a signal frame) and the unknown */
        }
    }
    c->instr = r.p;
    return !r.bad;
}

#define CFI_STACK 8 /* DW_CFA_remember_state depth handled */

/* Runs the CFI program [p, end) from `ip` while ip <= target (libunwind's
 * run_cfi_program); false on what this file does not handle. */
static bool cfi_run(const uint8_t *p, const uint8_t *end, uint64_t ip, uint64_t target,
                    const struct cie *c, struct regstate *rs, const struct regstate *initial)
{
    struct regstate stack[CFI_STACK];
    int depth = 0;
    struct rd r = {p, end, false};
    while (ip <= target && r.p < r.end) {
        uint8_t op = (uint8_t)rd_bytes(&r, 1);
        uint64_t operand = op & 0x3f, reg, v;
        if (op & 0xc0)
            op &= 0xc0;
        switch (op) {
        case 0x40: ip += operand * c->code_align; break;                 /* advance_loc */
        case 0x02: ip += rd_bytes(&r, 1) * c->code_align; break;         /* advance_loc1 */
        case 0x03: ip += rd_bytes(&r, 2) * c->code_align; break;         /* advance_loc2 */
        case 0x04: ip += rd_bytes(&r, 4) * c->code_align; break;         /* advance_loc4 */
        case 0x80:                                                       /* offset */
        case 0x05:                                                       /* offset_extended */
        case 0x11:                                                       /* offset_extended_sf */
        case 0x2f:                                                       /* GNU_negative_offset_extended */
            reg = op == 0x80 ? operand : rd_uleb(&r);
            v = op == 0x11 ? (uint64_t)rd_sleb(&r) : rd_uleb(&r);
            if (reg >= NREGS)
                return false;
            v *= (uint64_t)c->data_align;
            rs->where[reg] = W_CFAREL;
            rs->val[reg] = (int64_t)(op == 0x2f ? 0 - v : v);
            break;
        case 0xc0: /* restore */
        case 0x06: /* restore_extended */
            reg = op == 0xc0 ? operand : rd_uleb(&r);
            if (reg >= NREGS || !initial)
                return false;
            rs->where[reg] = initial->where[reg];
            rs->val[reg] = initial->val[reg];
            break;
        case 0x00: break; /* nop */
        case 0x07:        /* undefined */
        case 0x08:        /* same_value */
            reg = rd_uleb(&r);
            if (reg >= NREGS)
                return false;
            rs->where[reg] = op == 0x07 ? W_UNDEF : W_SAME;
            rs->val[reg] = 0;
            break;
        case 0x09: /* register */
            reg = rd_uleb(&r);
            v = rd_uleb(&r);
            if (reg >= NREGS || v >= NREGS)
                return false;
            rs->where[reg] = W_REG;
            rs->val[reg] = (int64_t)v;
            break;
        case 0x0a: /* remember_state */
            if (depth == CFI_STACK)
                return false;
            stack[depth++] = *rs;
            break;
        case 0x0b: /* restore_state */
            if (depth == 0)
                return false;
            *rs = stack[--depth];
            break;
        case 0x0c: /* def_cfa */
        case 0x12: /* def_cfa_sf */
        case 0x0d: /* def_cfa_register */
            reg = rd_uleb(&r);
            if (reg >= NREGS)
                return false;
            rs->cfa_where = W_REG;
            rs->cfa_reg = reg;
            if (op == 0x0c)
                rs->cfa_off = (int64_t)rd_uleb(&r);
            else if (op == 0x12)
                rs->cfa_off = (int64_t)((uint64_t)rd_sleb(&r) * (uint64_t)c->data_align);
            break;
        case 0x0e: rs->cfa_off = (int64_t)rd_uleb(&r); break; /* def_cfa_offset */
        case 0x13:                                             /* def_cfa_offset_sf */
            rs->cfa_off = (int64_t)((uint64_t)rd_sleb(&r) * (uint64_t)c->data_align);
            break;
        case 0x0f: /* def_cfa_expression */
        case 0x10: /* expression */
        case 0x16: /* val_expression */
            reg = op == 0x0f ? 0 : rd_uleb(&r);
            if (reg >= NREGS)
                return false;
            if (op == 0x0f)
                rs->cfa_where = W_EXPR;
            else
                rs->where[reg] = W_EXPR;
            v = rd_uleb(&r); /* the expression's length: skipped */
            if (v > (uint64_t)(r.end - r.p))
                return false;
            r.p += v;
            break;
        case 0x2e: rd_uleb(&r); break; /* GNU_args_size */
        default: return false; /* set_loc, val_offset, vendor opcodes */
        }
        if (r.bad)
            return false;
    }
    return !r.bad;
}

/* libunwind's classification of the frame state (tdep_stash_frame, and
 * unw_step's end of the chain). */
static struct rule classify(const struct regstate *rs)
{
    struct rule u = {0, 0, RULE_UNKNOWN, 0};
    for (int i = 0; i < NREGS; i++)
        if (rs->where[i] == W_EXPR)
            return u;
    if (rs->cfa_where != W_REG || (rs->cfa_reg != R_RBP && rs->cfa_reg != R_RSP) ||
        rs->cfa_off <= -(1 << 28) || rs->cfa_off >= (1 << 28))
        return u;
    u.cfa_off = (int32_t)rs->cfa_off;
    u.flags = rs->cfa_reg == R_RBP ? RULE_CFA_RBP : 0;
    if (rs->where[R_RA] == W_UNDEF) {
        u.kind = RULE_LAST;
        return u;
    }
    if (rs->where[R_RA] != W_CFAREL || rs->val[R_RA] != -8)
        return u;
    if (rs->where[R_RBP] == W_UNDEF) {
        u.kind = RULE_LAST; /* unw_step: a NULL RBP location ends the chain */
        return u;
    }
    for (int reg = R_RBP; reg <= R_RSP; reg++) {
        bool ok = rs->where[reg] == W_SAME || (reg == R_RSP && rs->where[reg] == W_UNDEF) ||
                  (rs->where[reg] == W_CFAREL && rs->val[reg] > -(1 << 14) &&
                   rs->val[reg] < (1 << 14) && rs->val[reg] != -1);
        if (!ok)
            return u;
    }
    if (rs->where[R_RBP] == W_CFAREL) {
        u.flags |= RULE_RBP_SAVED;
        u.rbp_off = (int16_t)rs->val[R_RBP];
    }
    u.kind = RULE_STD;
    return u;
}

/* The unwind rule at q (a return address minus 1) in this object, with
 * its program headers; read under the loader's lock. */
static struct rule rule_in_object(const struct dl_phdr_info *info, uintptr_t q)
{
    struct rule unknown = {0, 0, RULE_UNKNOWN, 0};
    const ElfW(Phdr) *hdr_ph = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
            hdr_ph = &info->dlpi_phdr[i];
    if (!hdr_ph)
        return unknown;
    /* Every table read stays inside the PT_LOAD segment holding the
     * header (.eh_frame_hdr and .eh_frame share the read-only one). */
    uintptr_t hdr = info->dlpi_addr + hdr_ph->p_vaddr;
    const uint8_t *lo = NULL, *hi = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && hdr >= s && hdr < s + ph->p_filesz) {
            lo = (const uint8_t *)s;
            hi = (const uint8_t *)(s + ph->p_filesz);
        }
    }
    if (!lo || hdr_ph->p_memsz < 4 || (uintptr_t)hi - hdr < hdr_ph->p_memsz)
        return unknown;
    const uint8_t *h = (const uint8_t *)hdr;
    struct rd r = {h, h + hdr_ph->p_memsz, false};
    uint8_t version = (uint8_t)rd_bytes(&r, 1), ptr_enc = (uint8_t)rd_bytes(&r, 1);
    uint8_t count_enc = (uint8_t)rd_bytes(&r, 1), table_enc = (uint8_t)rd_bytes(&r, 1);
    if (version != 1 || table_enc != 0x3b) /* datarel | sdata4: a sorted table */
        return unknown;
    rd_encoded(&r, ptr_enc, false);
    uint64_t count = rd_encoded(&r, count_enc, false);
    if (r.bad || count > (uint64_t)(r.end - r.p) / 8)
        return unknown;
    /* libunwind's lookup(): the last entry starting at or before q. */
    int32_t rel = (int32_t)(q - hdr);
    const uint8_t *table = r.p;
    uint64_t a = 0, b = count;
    while (a < b) {
        uint64_t mid = (a + b) / 2;
        int32_t start;
        memcpy(&start, table + mid * 8, 4);
        if (rel < start)
            b = mid;
        else
            a = mid + 1;
    }
    if (b == 0)
        return unknown;
    int32_t fde_off;
    memcpy(&fde_off, table + (b - 1) * 8 + 4, 4);
    /* addresses from the tables are computed as integers: they may point
     * anywhere until checked */
    const uint8_t *fde = (const uint8_t *)(hdr + (uintptr_t)(intptr_t)fde_off);
    if (fde < lo || hi - fde < 8)
        return unknown;
    struct rd f = {fde, hi, false};
    uint32_t len = (uint32_t)rd_bytes(&f, 4);
    if (len == 0 || len == 0xffffffffu || (size_t)(hi - f.p) < len)
        return unknown;
    f.end = f.p + len;
    const uint8_t *cie_field = f.p;
    int32_t cie_off = (int32_t)rd_bytes(&f, 4);
    struct cie c;
    const uint8_t *cie = (const uint8_t *)((uintptr_t)cie_field - (uintptr_t)(intptr_t)cie_off);
    if (cie_off == 0 || !cie_parse(cie, lo, hi, &c))
        return unknown;
    uint64_t start = rd_encoded(&f, c.fde_enc, false);
    uint64_t range = rd_encoded(&f, c.fde_enc & 0x0f, false);
    if (c.sized) { /* libunwind reads the LSDA pointer, then skips to the end */
        uint64_t n = rd_uleb(&f);
        if (f.bad || n > (uint64_t)(f.end - f.p))
            return unknown;
        struct rd l = {f.p, f.p + n, false};
        rd_encoded(&l, c.lsda_enc, true);
        if (l.bad)
            return unknown;
        f.p += n;
    } else {
        rd_encoded(&f, c.lsda_enc, true);
    }
    if (f.bad || q < start || q - start >= range)
        return unknown;
    struct regstate rs;
    memset(&rs, 0, sizeof rs); /* every register W_SAME, the CFA undefined */
    if (!cfi_run(c.instr, c.instr_end, 0, UINT64_MAX, &c, &rs, NULL))
        return unknown;
    struct regstate initial = rs;
    if (!cfi_run(f.p, f.end, start, q, &c, &rs, &initial))
        return unknown;
    return classify(&rs);
}

struct rule_find {
    uintptr_t q;
    struct rule rule;
};

/* libunwind's dwarf_callback(): the first object with a loaded segment
 * holding q. */
static int rule_find(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct rule_find *rf = arg;
    LG_UNUSED(size);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && rf->q >= s && rf->q < s + ph->p_memsz) {
            rf->rule = rule_in_object(info, rf->q);
            return 1;
        }
    }
    return 0;
}

static LG_NOINLINE struct rule rule_compute(uintptr_t pc)
{
    struct rule_find rf = {pc - 1, {0, 0, RULE_UNKNOWN, 0}};
    dl_iterate_phdr(rule_find, &rf);
    return rf.rule;
}

/* ---- the per-thread cache ------------------------------------------------ */

#define RULE_SLOTS 256
#define ENT_SLOTS  16
#define READS_MAX  (2 * LG_WALK_KEPT + 2) /* PC, RBP, each frame's RA and RBP */

struct rule_slot {
    uintptr_t pc; /* 0: empty */
    unsigned gen;
    struct rule rule;
};

struct uent {
    uintptr_t rec; /* the tracer's outermost frame record; 0: empty */
    unsigned gen;  /* generation of objects */
    uint32_t tb;   /* the interned traceback */
    uint8_t limit, nreads;
    uintptr_t at[READS_MAX], val[READS_MAX]; /* words the walk depends on */
};

struct unwc {
    struct rule_slot rules[RULE_SLOTS]; /* direct-mapped by PC */
    struct uent e[ENT_SLOTS];           /* direct-mapped by rec and PC */
    struct uent pending;                /* learned, waiting for lg__unwc_put */
    bool has_pending;
    bool off;      /* tests: this thread walks with libunwind every time */
    uint64_t hits; /* for tests */
};

static LG_TLS struct unwc *unwc; /* this thread's, or NULL */

/* libunwind's list of unwind information registered at run time (exported
 * by libunwind, declared by no header in local-only mode). */
extern unw_word_t _U_dyn_info_list_addr(void);

static struct {
    pthread_key_t key; /* frees a thread's cache when it exits */
    bool key_ok;
    pthread_once_t once;
    const unw_dyn_info_list_t *_Atomic dyn; /* libunwind's run-time unwind info */
} U = {.once = PTHREAD_ONCE_INIT};

static void unwc_free(void *p)
{
    unwc = NULL;
    lg__mem_free(p, sizeof(struct unwc));
}

static void unwc_key_create(void)
{
    U.key_ok = pthread_key_create(&U.key, unwc_free) == 0;
    atomic_store(&U.dyn, (const unw_dyn_info_list_t *)(uintptr_t)_U_dyn_info_list_addr());
}

static LG_NOINLINE struct unwc *unwc_create(void)
{
    pthread_once(&U.once, unwc_key_create);
    struct unwc *u = U.key_ok ? lg__mem_calloc(1, sizeof *u) : NULL;
    if (!u)
        return NULL;
    if (pthread_setspecific(U.key, u) != 0) {
        lg__mem_free(u, sizeof *u);
        return NULL;
    }
    return unwc = u;
}

/* Unwind information registered with libunwind at run time (a JIT's):
 * libunwind consults it before .eh_frame, so nothing is cached then. */
static inline bool dyn_registered(void)
{
    const unw_dyn_info_list_t *d = atomic_load_explicit(&U.dyn, memory_order_relaxed);
    return !d || __atomic_load_n(&d->first, __ATOMIC_RELAXED) != NULL;
}

static inline struct uent *uent_of(struct unwc *u, uintptr_t rec, uintptr_t pc)
{
    return &u->e[((uint64_t)(rec ^ pc) * 0x9E3779B97F4A7C15u) >> (64 - 4)];
}
_Static_assert(ENT_SLOTS == 16, "uent_of picks one of 16 slots");

static struct rule rule_of(struct unwc *u, uintptr_t pc, unsigned gen)
{
    struct rule_slot *s = &u->rules[((uint64_t)pc * 0x9E3779B97F4A7C15u) >> (64 - 8)];
    if (s->pc != pc || s->gen != gen) {
        s->rule = rule_compute(pc);
        s->pc = pc;
        s->gen = gen;
    }
    return s->rule;
}
_Static_assert(RULE_SLOTS == 256, "rule_of picks one of 256 slots");

LG_HOOK_TEXT uint32_t lg__unwc_cached(uintptr_t rec, int max, unsigned gen)
{
    struct unwc *u = unwc;
    if (!u || u->off)
        return LG_TB_NONE;
    struct uent *e = uent_of(u, rec, ((const uintptr_t *)rec)[1]);
    if (e->rec != rec || e->gen != gen || e->limit != max || dyn_registered())
        return LG_TB_NONE;
    uintptr_t diff = 0;
    for (int i = 0; i < e->nreads; i++)
        diff |= *(const uintptr_t *)e->at[i] ^ e->val[i];
    if (diff)
        return LG_TB_NONE;
    u->hits++;
    return e->tb;
}

/* Walks with the rules from the frame above record `rec` into `p`, as
 * described at the top; true when the walk gives libunwind's frames
 * user[0..n). */
static bool learn(struct unwc *u, struct uent *p, uintptr_t rec, int max, unsigned gen,
                  const uintptr_t *user, int n, uintptr_t stack_hi)
{
    bool need[READS_MAX];
    int nr = 0, rbp_src = -1; /* the read RBP came from; -1: rec[0] */
    uintptr_t sp = rec + 16, pc = ((const uintptr_t *)rec)[1], rbp = ((const uintptr_t *)rec)[0];
    p->at[nr] = rec + 8, p->val[nr] = pc, need[nr++] = true;
    int k = 1; /* frames: user[0] is pc */
    if (n < 1 || user[0] != pc)
        return false;
    while (k < max + 1) {
        struct rule r = rule_of(u, pc, gen);
        if (r.kind == RULE_UNKNOWN)
            return false;
        if (r.kind == RULE_LAST)
            break;
        uintptr_t base = sp;
        if (r.flags & RULE_CFA_RBP) {
            base = rbp;
            if (rbp_src < 0)
                p->at[nr] = rec, p->val[nr] = rbp, need[nr] = true, rbp_src = nr++;
            else
                need[rbp_src] = true;
        }
        uintptr_t cfa = base + (uintptr_t)(intptr_t)r.cfa_off;
        if (cfa < sp + 8 || cfa > stack_hi || (cfa & 7))
            return false;
        uintptr_t ra = ((const uintptr_t *)cfa)[-1];
        p->at[nr] = cfa - 8, p->val[nr] = ra, need[nr++] = true;
        if (r.flags & RULE_RBP_SAVED) {
            uintptr_t slot = cfa + (uintptr_t)(intptr_t)r.rbp_off;
            if (slot < sp || slot > stack_hi - 8 || (slot & 7))
                return false;
            rbp = *(const uintptr_t *)slot;
            p->at[nr] = slot, p->val[nr] = rbp, need[nr] = false, rbp_src = nr++;
        }
        sp = cfa;
        if (ra < 0x4000 || k >= n || user[k] != ra) /* libunwind stops at ra < 0x4000 */
            return false;
        pc = ra;
        k++;
    }
    if (k != (n < max + 1 ? n : max + 1))
        return false;
    int kept = 0;
    for (int i = 0; i < nr; i++)
        if (need[i])
            p->at[kept] = p->at[i], p->val[kept] = p->val[i], kept++;
    p->nreads = (uint8_t)kept;
    p->rec = rec;
    p->gen = gen;
    p->limit = (uint8_t)max;
    return true;
}

void lg__unwc_learn(uintptr_t rec, int max, unsigned gen, const uintptr_t *user, int n,
                    uintptr_t stack_hi)
{
    struct unwc *u = unwc;
    if (u)
        u->has_pending = false;
    if (!rec || max < 1 || max > LG_WALK_KEPT)
        return;
    if (!u && !(u = unwc_create()))
        return;
    if (u->off || dyn_registered())
        return;
    u->has_pending = learn(u, &u->pending, rec, max, gen, user, n, stack_hi);
}

void lg__unwc_put(uint32_t tb)
{
    struct unwc *u = unwc;
    if (!u || !u->has_pending)
        return;
    u->has_pending = false;
    if (tb == LG_TB_NONE)
        return;
    struct uent *p = &u->pending, *e = uent_of(u, p->rec, p->val[0]);
    memcpy(e->at, p->at, p->nreads * sizeof p->at[0]);
    memcpy(e->val, p->val, p->nreads * sizeof p->val[0]);
    e->nreads = p->nreads;
    e->gen = p->gen;
    e->limit = p->limit;
    e->tb = tb;
    e->rec = p->rec;
}

uint64_t lg__unwc_hits(void)
{
    return unwc ? unwc->hits : 0;
}

void lg__set_unwind_cache(bool on)
{
    struct unwc *u = unwc ? unwc : unwc_create();
    if (u)
        u->off = !on;
}
