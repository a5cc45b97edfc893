/*
 * criterion_prints.c — a Criterion suite whose tests print, as suites of
 * small C libraries do (a singly linked list printed after each step):
 * stdout and stderr in one test, a line with no newline, lines that look
 * like TAP, a fixture that prints, one test that fails an assertion and
 * one that leaks.  `leakgate tap` must keep all of it out of the TAP
 * stream (comment lines) and both prove and tap.py must read the result
 * alike.  Built by test_tap.sh with -lcriterion.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

struct node {
    int value;
    struct node *next;
};

static struct node *push(struct node *head, int value)
{
    struct node *n = malloc(sizeof *n);
    cr_assert_not_null(n);
    n->value = value;
    n->next = head;
    return n;
}

static void print_list(const char *label, const struct node *head)
{
    printf("%s:", label);
    for (; head; head = head->next)
        printf(" %d", head->value);
    printf("\n");
}

static void free_list(struct node *head)
{
    while (head) {
        struct node *next = head->next;
        free(head);
        head = next;
    }
}

Test(slist, push_prints)
{
    struct node *l = push(push(push(NULL, 1), 2), 3);
    print_list("after push", l);
    fprintf(stderr, "slist: three nodes\n");
    print_list("again", l);
    cr_assert_eq(l->value, 3);
    free_list(l);
}

Test(slist, looks_like_tap)
{
    printf("TAP version 13\n1..99\nok 1 - not a test point\nnot ok 2 - nor this\n");
    printf("Bail out! only words\n");
    cr_assert(1);
}

Test(slist, no_newline)
{
    printf("a last line without its newline");
    cr_assert(1);
}

Test(slist, wrong_length)
{
    struct node *l = push(NULL, 7);
    print_list("one node", l);
    int n = 0;
    for (struct node *p = l; p; p = p->next)
        n++;
    free_list(l);
    cr_expect_eq(n, 2, "the list has %d node, not 2", n);
}

Test(slist, forgets_its_nodes)
{
    struct node *l = push(push(NULL, 4), 5);
    print_list("leaked", l);
    cr_assert_eq(l->next->value, 4);
}

static void greet(void)
{
    puts("fixture: setting up");
}

static void bye(void)
{
    fputs("fixture: tearing down\n", stderr);
}

Test(slist, with_fixture, .init = greet, .fini = bye)
{
    puts("in the test body");
}
