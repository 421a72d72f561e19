/*
 * pacer.h: resumes suspended connections at a given time, so that a body
 * sent at a limited rate parks its connection between pieces instead of
 * sleeping on a server worker, which would stall every other connection
 * of that worker (health checks included).  Internal to src/http.
 */
#ifndef CAIRN_HTTP_PACER_H
#define CAIRN_HTTP_PACER_H

#include <microhttpd.h>
#include <stdbool.h>

typedef struct cairn_http__pacer cairn_http__pacer;

int cairn_http__pacer_start(cairn_http__pacer **out);

/* Resumes `connection`, which the caller has just suspended, `delay`
 * seconds from now.  False once the pacer is stopped: the caller resumes
 * the connection itself and sends without pacing from then on. */
bool cairn_http__pacer_resume_later(cairn_http__pacer *p, struct MHD_Connection *connection, double delay);

/* Resumes every waiting connection now and refuses later requests.  Must
 * run before the library stops (it never stops with a connection
 * suspended). */
void cairn_http__pacer_stop(cairn_http__pacer *p);

/* Stops (if needed) and frees. */
void cairn_http__pacer_free(cairn_http__pacer *p);

#endif
