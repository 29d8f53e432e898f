/*
 * kapi_ctrl — the requests only the controller answers: ControlledShutdown (API 7, v1-2: the
 * leaderships of a stopping broker move away, kctrl, and the answer lists what it still leads)
 * and ElectLeaders (API 43, v0-1, KIP-183/KIP-460: preferred or unclean elections). Both are
 * admin handlers (see kapi_admin.h) that wait for the controller's writes. Loop thread.
 */
#ifndef SAMSA_KAPI_CTRL_H
#define SAMSA_KAPI_CTRL_H

#include <stdbool.h>

struct broker;
struct kout;
struct kreq;
struct kwait;

int kapi_ctrl_shutdown(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);
int kapi_ctrl_elect(struct broker *b, struct kreq *q, struct kout *o, struct kwait *w, bool first, bool final);

#endif
