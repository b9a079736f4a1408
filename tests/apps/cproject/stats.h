#ifndef CPROJECT_STATS_H
#define CPROJECT_STATS_H

#include <stddef.h>

double mean(const double *values, size_t count);
double stddev(const double *values, size_t count);
void sort_values(double *values, size_t count);

#endif
