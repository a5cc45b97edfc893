/*
 * kinds_suite.c — a Criterion suite whose tests leave each kind of
 * leftover: libxml2's and OpenSSL's one-time initialisation (reachable
 * from the libraries' globals), a lazily created global (reachable), a
 * buffer nothing points to (definite), a global list that grows on every
 * call (reachable: a logical leak), and a clean test.  test_kinds.sh runs
 * it under leakgate with the default kinds and with --leak-kinds=all.
 */
#include <criterion/criterion.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next;
    char name[24];
};

static char *g_registry; /* created on first use */
static struct entry *g_list;

static void registry_use(void)
{
    if (!g_registry)
        g_registry = calloc(1, 520); /* SITE:lazy */
}

static void list_add(const char *name)
{
    struct entry *e = calloc(1, sizeof *e); /* SITE:grow */
    strncpy(e->name, name, sizeof e->name - 1);
    e->next = g_list;
    g_list = e;
}

static void lose_buffer(void)
{
    char *p = malloc(64); /* SITE:lost */
    memset(p, 0, 64);
}

Test(kinds, libxml2_parse)
{
    xmlDocPtr doc = xmlReadMemory("<a>text</a>", 11, "in.xml", NULL, 0);
    cr_assert(doc != NULL);
    xmlFreeDoc(doc);
}

Test(kinds, openssl_sha256)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    cr_assert(ctx != NULL);
    cr_assert(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1);
    cr_assert(EVP_DigestUpdate(ctx, "abc", 3) == 1);
    cr_assert(EVP_DigestFinal_ex(ctx, md, &len) == 1);
    EVP_MD_CTX_free(ctx);
    cr_assert(len == 32);
}

Test(kinds, lazy_global)
{
    registry_use();
    cr_assert(g_registry != NULL);
}

Test(kinds, lost_buffer)
{
    lose_buffer();
}

Test(kinds, growing_list)
{
    list_add("entry");
    cr_assert(g_list != NULL);
}

Test(kinds, clean)
{
    char *p = malloc(32);
    cr_assert(p != NULL);
    free(p);
}
