#include "stats.h"

#include <math.h>
#include <stdlib.h>

double mean(const double *values, size_t count) {
  double sum = 0;
  for (size_t i = 0; i < count; i++) sum += values[i];
  return count ? sum / (double)count : 0;
}

double stddev(const double *values, size_t count) {
  double m = mean(values, count), acc = 0;
  for (size_t i = 0; i < count; i++) acc += (values[i] - m) * (values[i] - m);
  return count ? sqrt(acc / (double)count) : 0;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void sort_values(double *values, size_t count) { qsort(values, count, sizeof *values, compare); }
