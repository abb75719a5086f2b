/*
 * plot.h — line charts of query results: one line per series (a group and
 * a value column), time on the x axis.  As an SVG file, or drawn on the
 * terminal with Unicode braille characters.
 */
#ifndef STRATA_PLOT_H
#define STRATA_PLOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct plot_series {
    char *label; /* e.g. "fleet=East max(velocity)" */
    int64_t *t;  /* ns since the epoch, ascending */
    double *v;   /* NaN = no value (a gap in the line) */
    size_t n, cap;
} plot_series;

typedef struct plot_data {
    char *title; /* the query text */
    plot_series *s;
    size_t n;
} plot_data;

/* Add a point to the series labelled `label` (created on first use). */
int plot_add(plot_data *d, const char *label, int64_t t, double v);
void plot_free(plot_data *d);

/* Write an SVG line chart to path: axes with time and value labels, a
 * legend; 0, or -1 with a message on stderr. */
int plot_svg(const plot_data *d, const char *path);
/* Draw the chart on f, width x height character cells (plus axes). */
int plot_terminal(const plot_data *d, FILE *f, int width, int height);

#endif
