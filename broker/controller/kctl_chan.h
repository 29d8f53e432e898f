/*
 * kctl_chan — both ends of the controller's channel to brokers (KIP-291's control plane), on
 * libevent, with fast failure detection. Messages are kctl_msg frames (kctl_msg.h). Plaintext,
 * or mutual TLS on both ends (kctl_srv_set_tls, kctl_ctrl_set_tls: the broker uses it when its
 * inter-broker listener is SSL).
 *
 * Broker end (struct kctl_srv): listens on the control-plane port (control.plane.listener.port),
 * accepts connections from controllers, decodes requests and refuses, without handing them on:
 *   - a controller epoch below the highest one it has seen: STALE_CONTROLLER_EPOCH (11);
 *   - a broker epoch (KIP-380: the czxid of our /brokers/ids/<id> znode) other than -1 and below
 *     our own: STALE_BROKER_EPOCH (77) — a request meant for an earlier life of this broker;
 *   - a version other than KCTL_VERSION: UNSUPPORTED_VERSION (35).
 * A request that passes raises the highest controller epoch seen (so a deposed controller is
 * fenced from then on) and goes to the callback of its type, whose per-partition errors and
 * whole-request error are sent back. Heartbeats are answered by the channel itself (with our
 * broker id, broker epoch and highest controller epoch). The current controller's connection
 * breaking (controller_lost) or falling silent past a timeout (controller_silent: a paused or
 * cut-off controller keeps its TCP connection) is reported. A malformed frame or a response type
 * closes that connection with a log line naming the peer.
 *
 * Controller end (struct kctl_ctrl): one connection per live broker (its host and control
 * port), a FIFO of requests per broker with one in flight, responses matched by correlation id,
 * reconnection with backoff (backoff_min_ms doubling to backoff_max_ms), and failure detection:
 *
 *   liveness     ALIVE ----(established connection breaks)----> SUSPECT
 *     ALIVE: registered and not proven dead; a broker is added ALIVE (its registration exists)
 *     SUSPECT: the connection broke (EOF or reset: a process killed with -9 has its sockets
 *       closed by the kernel at once); reconnecting at once to confirm
 *     DEAD: reported with broker_dead(id); queued requests were failed first
 *   SUSPECT -> DEAD   the reconnect is refused or fails, or no heartbeat answer within confirm_ms
 *   SUSPECT -> ALIVE  reconnected and a heartbeat answered (the in-flight request is re-sent)
 *   ALIVE -> DEAD     a heartbeat unanswered for heartbeat_timeout_ms (a paused process keeps its
 *                     TCP connection but answers nothing; a host cut off the same), or no
 *                     heartbeat answered within heartbeat_timeout_ms of being added
 *   ALIVE -> DEAD     a connect is refused: nothing listens on the control-plane port, which a
 *                     broker opens before it registers, so its process is gone
 *   DEAD -> ALIVE     a later connection answers a heartbeat: broker_alive(id)
 * Heartbeats go every heartbeat_interval_ms on an up connection, one outstanding at a time.
 *
 * Loop thread only: every function and callback runs on the thread of the event_base. Callbacks
 * may call any kctl function except the free of the end that called them. Connections are closed
 * at the loop's next turn (common/net.h): after a free, run the loop once more (EVLOOP_NONBLOCK)
 * before freeing the base.
 */
#ifndef SAMSA_KCTL_CHAN_H
#define SAMSA_KCTL_CHAN_H

#include "kctl_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

/* The default control-plane port: the first listener's port + 1000 (9092 -> 10092), or 0
 * (ephemeral) when that listener's port is 0; -1 when over 65535 (then configure it). */
int kctl_default_port(int listener_port);

/* ---- broker end -------------------------------------------------------------------------- */

struct kctl_srv;

/*
 * What a broker does with a request that passed the epoch checks; m is valid during the call
 * only. errors has one slot per partition of the request (m->n_parts for LeaderAndIsr,
 * m->n_stops for StopReplica), zeroed: set a Kafka error code where a partition failed. The
 * return value is the whole request's Kafka error code (0). Any callback may be NULL: the
 * request is then answered with UNKNOWN_SERVER_ERROR (-1).
 */
struct kctl_srv_cbs {
	int32_t (*on_leader_and_isr)(const struct kctl_msg *m, int32_t *errors, void *arg);
	int32_t (*on_update_metadata)(const struct kctl_msg *m, void *arg);
	int32_t (*on_stop_replica)(const struct kctl_msg *m, int32_t *errors, void *arg);
	/* The connection of the current controller (the highest epoch seen; never this broker)
	 * ended by EOF or reset, not by us: its process may be gone. Optional. */
	void (*controller_lost)(int32_t controller_id, int32_t controller_epoch, void *arg);
	/* The current controller's connection is open but brought nothing, not even a heartbeat,
	 * for the silence timeout (kctl_srv_watch_silence): paused or cut off. Once per silence
	 * (again only after it spoke in between). Optional. */
	void (*controller_silent)(int32_t controller_id, int32_t controller_epoch, void *arg);
};

/*
 * Listens on host:port (host "" = every address; port 0 = ephemeral, see kctl_srv_port) as
 * broker broker_id. cbs is copied, arg passed to each callback. The broker epoch starts unknown
 * (-1: not checked) until kctl_srv_set_broker_epoch. 0 with *out set, or ERR_IO (cannot listen,
 * eb names host:port), ERR_NOMEM.
 */
int kctl_srv_new(struct event_base *base, const char *host, int port, int32_t broker_id,
		 const struct kctl_srv_cbs *cbs, void *arg, struct kctl_srv **out, char *eb, size_t el);
/* Mutual TLS on the listener from now on: tls is a server context (borrowed; it must outlive
 * s) whose trusted certificates every peer's certificate must chain to, whatever the context's
 * own client-auth setting; connections are made with tls_ctx_ssl_fresh, so a reloaded
 * certificate applies. A plaintext peer, or one without a trusted certificate, is refused
 * before any frame is read, with a log line naming its address. NULL: plaintext. */
struct tls_ctx;
void kctl_srv_set_tls(struct kctl_srv *s, struct tls_ctx *tls);
/* Stops listening and closes every connection (see the top comment). NULL ok. */
void kctl_srv_free(struct kctl_srv *s);
int kctl_srv_port(const struct kctl_srv *s);
/* Our broker epoch: the czxid of our /brokers/ids/<id> after (re-)registering. */
void kctl_srv_set_broker_epoch(struct kctl_srv *s, int64_t broker_epoch);
/* Raises the highest controller epoch seen (e.g. read from /controller_epoch); never lowers it. */
void kctl_srv_raise_controller_epoch(struct kctl_srv *s, int32_t controller_epoch);
int32_t kctl_srv_controller_epoch(const struct kctl_srv *s);
/* Watches the current controller's connection for silence_ms without a frame (0: stops);
 * a controller's heartbeats come every 250 ms. 0, ERR_NOMEM. */
int kctl_srv_watch_silence(struct kctl_srv *s, uint32_t silence_ms);
/* Test knob (hidden): while paused, nothing is read from any connection, new ones included, as
 * in a process stopped with SIGSTOP. */
void kctl_srv_pause(struct kctl_srv *s, bool paused);

/* ---- probe: is anything listening there? ------------------------------------------------- */

struct kctl_probe;

/*
 * Whether a live process listens at host:port: cb(true, arg) when a TCP connection is accepted
 * and kept open until timeout_ms (a dying process resets it: the kernel closes its connections
 * before its listener, which resets the ones still queued); cb(false, arg) when refused, reset,
 * unresolvable or not connected by then. cb runs once, from the loop, never inside this call;
 * kctl_probe_free (also from cb) releases it. 0 with *out set, ERR_NOMEM.
 */
int kctl_probe_new(struct event_base *base, const char *host, int port, uint32_t timeout_ms,
		   void (*cb)(bool up, void *arg), void *arg, struct kctl_probe **out);
void kctl_probe_free(struct kctl_probe *p); /* cancels a pending one; NULL ok */

/* ---- controller end ---------------------------------------------------------------------- */

struct kctl_ctrl;

/* Liveness reports (see the top comment); each is called from a timer or socket event. */
struct kctl_ctrl_cbs {
	void (*broker_dead)(int32_t id, void *arg);
	void (*broker_alive)(int32_t id, void *arg);
};

/*
 * The end of one request: err 0 with resp the broker's response (valid during the call only;
 * resp->error_code and resp->errors say what the broker did), or ERR_CLOSED with resp NULL when
 * the broker was declared dead or removed before answering.
 */
typedef void (*kctl_done_cb)(int32_t broker_id, int err, const struct kctl_msg *resp, void *arg);

/* Timings; 0 takes the default. */
struct kctl_ctrl_opts {
	uint32_t heartbeat_interval_ms; /* 250 */
	uint32_t heartbeat_timeout_ms;	/* 3000: controller.heartbeat.timeout.ms */
	uint32_t confirm_ms;		/* 1000: a broken connection is confirmed within this */
	uint32_t backoff_min_ms;	/* 50 */
	uint32_t backoff_max_ms;	/* 1000 */
	size_t queue_bytes;		/* 64 MiB of encoded requests queued per broker */
};

/*
 * The controller end of controller controller_id in controller_epoch (the /controller_epoch
 * it won with; a new election makes a new kctl_ctrl). opts may be NULL; cbs is copied. 0 with
 * *out set, ERR_INVAL (timeout not above the interval), ERR_NOMEM.
 */
int kctl_ctrl_new(struct event_base *base, int32_t controller_id, int32_t controller_epoch,
		  const struct kctl_ctrl_opts *opts, const struct kctl_ctrl_cbs *cbs, void *arg,
		  struct kctl_ctrl **out, char *eb, size_t el);
/* Connections made from now on use TLS: tls is a client context (borrowed; it must outlive c)
 * presenting this broker's certificate and verifying the broker's against its trusted ones;
 * check_host: the certificate must also name the broker's registered host. NULL: plaintext. */
void kctl_ctrl_set_tls(struct kctl_ctrl *c, struct tls_ctx *tls, bool check_host);
/* Closes every connection; queued requests are dropped without their callbacks. NULL ok. */
void kctl_ctrl_free(struct kctl_ctrl *c);

/*
 * Adds broker id at host:control_port with its broker epoch (the czxid of /brokers/ids/<id>;
 * -1: unknown, not checked), ALIVE, and starts connecting. For a known id, updates it: a
 * changed host or port reconnects (keeping the queue), a changed epoch applies to requests
 * sent from now on. 0, ERR_INVAL (id < 0, empty or too long host, bad port), ERR_NOMEM.
 */
int kctl_ctrl_add_broker(struct kctl_ctrl *c, int32_t id, const char *host, int control_port,
			 int64_t broker_epoch);
/* Forgets broker id: closes its connection, drops its queue without callbacks, no report. */
void kctl_ctrl_remove_broker(struct kctl_ctrl *c, int32_t id);

/*
 * Queues request m (LeaderAndIsr, UpdateMetadata or StopReplica) to broker id; requests to one
 * broker are sent in the order queued, one at a time, and done is called once with the answer
 * (see kctl_done_cb). The channel sets m's version, correlation id, controller id and epoch and
 * the broker's epoch; m is encoded now and stays the caller's. 0; ERR_NOTFOUND (unknown id),
 * ERR_CLOSED (broker DEAD: the request is not queued, done is not called), ERR_FULL (the
 * broker's queue over queue_bytes), ERR_INVAL (not a request type, or over kctl_msg's caps),
 * ERR_TOOBIG, ERR_NOMEM.
 */
int kctl_ctrl_send(struct kctl_ctrl *c, int32_t id, const struct kctl_msg *m, kctl_done_cb done, void *arg);

/* Whether broker id is known and not DEAD. */
bool kctl_ctrl_alive(const struct kctl_ctrl *c, int32_t id);
/* Requests queued to id (the one in flight included); 0 for an unknown id. */
size_t kctl_ctrl_queued(const struct kctl_ctrl *c, int32_t id);
/* Requests queued to the brokers not DEAD, except broker except (the one in flight included);
 * 0 for c NULL. */
size_t kctl_ctrl_undelivered(const struct kctl_ctrl *c, int32_t except);

#endif
