/*
 * prom — Prometheus's text exposition format (version 0.0.4), written into an evbuffer: the
 * "# HELP" / "# TYPE" lines of a metric family, samples with escaped label values, and
 * summaries (quantile samples, _sum and _count). Also a bounded quantile window (prom_window)
 * for the summaries' quantiles: the last PROM_WINDOW_CAP observations no older than the
 * window's age, as Prometheus's Java client keeps a sliding time window (ZooKeeper's
 * PrometheusMetricsProvider uses its Summary: quantiles 0.5, 0.9, 0.99 over the last 10 min).
 *
 * Renders only; it parses nothing. Any thread, no globals; a prom_window is owned by its caller
 * and used by one thread.
 */
#ifndef SAMSA_PROM_H
#define SAMSA_PROM_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_SUMMARY, PROM_UNTYPED };

/* The content type of the format, for the HTTP reply. */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* "# HELP name help" (help escaped: \\ and \n) and "# TYPE name type". name must be a valid
 * metric name ([a-zA-Z_:][a-zA-Z0-9_:]*); it is written as given. 0, or -1 if out of memory. */
int prom_family(struct evbuffer *out, const char *name, const char *help, enum prom_type type);

/* One sample line: name{k1="v1",...} value. labels holds n_labels (key, value) pairs
 * (labels[2i] the key, labels[2i+1] the value, escaped: \\, \" and \n); n_labels 0 writes no
 * braces. Values: integers up to 2^53 without a fraction, others with 17 significant digits,
 * NaN / +Inf / -Inf spelled as Prometheus reads them. 0, or -1 if out of memory. */
int prom_sample(struct evbuffer *out, const char *name, const char *const *labels, size_t n_labels,
		double value);

/* Writes a value as prom_sample does (for callers that build lines themselves). */
int prom_value(struct evbuffer *out, double value);

#define PROM_WINDOW_CAP 4096

/* The observations of one summary: cumulative count and sum, and the recent ones for
 * quantiles (a ring of PROM_WINDOW_CAP, each with the time it was made). */
struct prom_window {
	uint64_t count;
	double sum;
	int64_t max_age_ms; /* observations older than this leave the quantiles */
	size_t head, n;	    /* ring: n valid entries ending before head */
	double v[PROM_WINDOW_CAP];
	int64_t t_ms[PROM_WINDOW_CAP];
};

/* Empties w; quantiles then cover observations up to max_age_ms old. */
void prom_window_init(struct prom_window *w, int64_t max_age_ms);
/* Records one observation made at now_ms (any monotonic clock, the same for every call). */
void prom_window_observe(struct prom_window *w, double value, int64_t now_ms);
/*
 * The q-quantiles (0 <= q <= 1) of the observations in the window at now_ms into out[i] for
 * each qs[i], by rank (the smallest value with at least q of the observations at or below it);
 * NaN each when the window is empty (as Prometheus's client answers). scratch must hold
 * PROM_WINDOW_CAP doubles. Sorting the window costs O(n log n), n <= PROM_WINDOW_CAP.
 */
void prom_window_quantiles(const struct prom_window *w, int64_t now_ms, const double *qs, size_t n_qs,
			   double *out, double *scratch);

/* A whole summary family: HELP/TYPE, one sample per quantile (name{quantile="0.5"}), then
 * name_count and name_sum (cumulative). 0, or -1 if out of memory. */
int prom_summary(struct evbuffer *out, const char *name, const char *help, const struct prom_window *w,
		 int64_t now_ms, const double *qs, size_t n_qs, double *scratch);

#endif
