/*
 * prom — Prometheus's text exposition format and the summaries' quantile window (see prom.h).
 * The format: https://prometheus.io/docs/instrumenting/exposition_formats/ (text format 0.0.4).
 */
#include "prom.h"

#include <event2/buffer.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const prom_type_names[] = { "counter", "gauge", "summary", "untyped" };

/* Writes s with \\ and \n escaped, and \" too when quote (label values; HELP keeps quotes). */
static int prom_escaped(struct evbuffer *out, const char *s, bool quote)
{
	const char *run = s;
	for (const char *p = s;; p++) {
		const char *esc = NULL;
		if (*p == '\\')
			esc = "\\\\";
		else if (*p == '\n')
			esc = "\\n";
		else if (*p == '"' && quote)
			esc = "\\\"";
		if (!esc && *p)
			continue;
		if (p > run && evbuffer_add(out, run, (size_t)(p - run)))
			return -1;
		if (!*p)
			return 0;
		if (evbuffer_add(out, esc, 2))
			return -1;
		run = p + 1;
	}
}

int prom_family(struct evbuffer *out, const char *name, const char *help, enum prom_type type)
{
	if (evbuffer_add_printf(out, "# HELP %s ", name) < 0 || prom_escaped(out, help ? help : name, false) ||
	    evbuffer_add_printf(out, "\n# TYPE %s %s\n", name, prom_type_names[type]) < 0)
		return -1;
	return 0;
}

/* "%.15g" when it reads back as the same double, else "%.17g" (which always does). */
static const char *prom_shortest(double v)
{
	char t[40];
	snprintf(t, sizeof(t), "%.15g", v);
	return strtod(t, NULL) == v ? "%.15g" : "%.17g";
}

int prom_value(struct evbuffer *out, double value)
{
	int n;
	if (isnan(value))
		n = evbuffer_add_printf(out, "NaN");
	else if (isinf(value))
		n = evbuffer_add_printf(out, value > 0 ? "+Inf" : "-Inf");
	else if (value == floor(value) && fabs(value) <= 9007199254740992.0)
		n = evbuffer_add_printf(out, "%.0f", value);
	else
		n = evbuffer_add_printf(out, prom_shortest(value), value);
	return n < 0 ? -1 : 0;
}

int prom_sample(struct evbuffer *out, const char *name, const char *const *labels, size_t n_labels,
		double value)
{
	if (evbuffer_add(out, name, strlen(name)))
		return -1;
	for (size_t i = 0; i < n_labels; i++) {
		if (evbuffer_add(out, i ? "," : "{", 1) || evbuffer_add_printf(out, "%s=\"", labels[2 * i]) < 0 ||
		    prom_escaped(out, labels[2 * i + 1], true) || evbuffer_add(out, "\"", 1))
			return -1;
	}
	if ((n_labels && evbuffer_add(out, "}", 1)) || evbuffer_add(out, " ", 1) || prom_value(out, value) ||
	    evbuffer_add(out, "\n", 1))
		return -1;
	return 0;
}

void prom_window_init(struct prom_window *w, int64_t max_age_ms)
{
	w->count = 0;
	w->sum = 0;
	w->max_age_ms = max_age_ms;
	w->head = w->n = 0;
}

void prom_window_observe(struct prom_window *w, double value, int64_t now_ms)
{
	w->count++;
	w->sum += value;
	w->v[w->head] = value;
	w->t_ms[w->head] = now_ms;
	w->head = (w->head + 1) % PROM_WINDOW_CAP;
	if (w->n < PROM_WINDOW_CAP)
		w->n++;
}

static int prom_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void prom_window_quantiles(const struct prom_window *w, int64_t now_ms, const double *qs, size_t n_qs,
			   double *out, double *scratch)
{
	size_t m = 0;
	for (size_t i = 0; i < w->n; i++) {
		size_t at = (w->head + PROM_WINDOW_CAP - 1 - i) % PROM_WINDOW_CAP; /* newest first */
		if (now_ms - w->t_ms[at] > w->max_age_ms)
			break; /* older ones are older still */
		scratch[m++] = w->v[at];
	}
	qsort(scratch, m, sizeof(*scratch), prom_cmp_double);
	for (size_t i = 0; i < n_qs; i++) {
		if (!m) {
			out[i] = NAN;
			continue;
		}
		double q = qs[i] < 0 ? 0 : qs[i] > 1 ? 1 : qs[i];
		size_t rank = (size_t)ceil(q * (double)m); /* 1-based: at least q of them at or below */
		out[i] = scratch[rank ? rank - 1 : 0];
	}
}

int prom_summary(struct evbuffer *out, const char *name, const char *help, const struct prom_window *w,
		 int64_t now_ms, const double *qs, size_t n_qs, double *scratch)
{
	double vals[16];
	char qtext[32], sname[256];
	if (n_qs > sizeof(vals) / sizeof(vals[0]) || strlen(name) + 8 > sizeof(sname))
		return -1;
	prom_window_quantiles(w, now_ms, qs, n_qs, vals, scratch);
	if (prom_family(out, name, help, PROM_SUMMARY))
		return -1;
	for (size_t i = 0; i < n_qs; i++) {
		snprintf(qtext, sizeof(qtext), "%g", qs[i]);
		const char *labels[2] = { "quantile", qtext };
		if (prom_sample(out, name, labels, 1, vals[i]))
			return -1;
	}
	snprintf(sname, sizeof(sname), "%s_count", name);
	if (prom_sample(out, sname, NULL, 0, (double)w->count))
		return -1;
	snprintf(sname, sizeof(sname), "%s_sum", name);
	return prom_sample(out, sname, NULL, 0, w->sum);
}
