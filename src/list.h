/* SPDX-License-Identifier: MIT */
/*
 * list.h: intrusive circular doubly linked list. A struct embeds a struct list_node
 * and finds itself again with container_of. An empty list's head points to itself.
 * A node is on at most one list at a time; list_del() leaves it self-linked.
 */
#ifndef LG_LIST_H
#define LG_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "base.h"

struct list_node {
    struct list_node *next, *prev;
};

static inline void list_init(struct list_node *head)
{
    head->next = head->prev = head;
}

static inline bool list_empty(const struct list_node *head)
{
    return head->next == head;
}

static inline void list_insert_between(struct list_node *n, struct list_node *prev,
                                       struct list_node *next)
{
    n->prev = prev;
    n->next = next;
    prev->next = n;
    next->prev = n;
}

/* Append @n at the tail (FIFO order with list_first). */
static inline void list_append(struct list_node *head, struct list_node *n)
{
    list_insert_between(n, head->prev, head);
}

static inline void list_prepend(struct list_node *head, struct list_node *n)
{
    list_insert_between(n, head, head->next);
}

static inline void list_del(struct list_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

static inline struct list_node *list_first(const struct list_node *head)
{
    return list_empty(head) ? NULL : head->next;
}

static inline size_t list_count(const struct list_node *head)
{
    size_t n = 0;
    for (const struct list_node *p = head->next; p != head; p = p->next)
        n++;
    return n;
}

#define list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)
#define list_for_each_safe(pos, tmp, head)                                                         \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                               \
         (pos) = (tmp), (tmp) = (pos)->next)

#endif
