/*
 * list.h: the intrusive doubly-linked list behind the HTTP layer's
 * registries (the subscribers of a topic, the stream connections of a
 * server).  A struct embeds a cairn_http_link and is found again from it
 * with CAIRN_HTTP_CONTAINER.  Nothing here locks: the owner of the list
 * holds its lock around every call and every walk.
 */
#ifndef CAIRN_HTTP_LIST_H
#define CAIRN_HTTP_LIST_H

#include <stddef.h>

typedef struct cairn_http_link {
	struct cairn_http_link *prev, *next;
} cairn_http_link;

#define CAIRN_HTTP_CONTAINER(link, type, member) ((type *)((char *)(link) - offsetof(type, member)))

static inline void cairn_http_list_push(cairn_http_link **head, cairn_http_link *link)
{
	link->prev = NULL;
	link->next = *head;
	if (*head)
		(*head)->prev = link;
	*head = link;
}

static inline void cairn_http_list_remove(cairn_http_link **head, cairn_http_link *link)
{
	if (link->prev)
		link->prev->next = link->next;
	else
		*head = link->next;
	if (link->next)
		link->next->prev = link->prev;
	link->prev = link->next = NULL;
}

#endif
