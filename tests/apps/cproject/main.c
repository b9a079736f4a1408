#include <stdio.h>
#include <stdlib.h>

#include "stats.h"

int main(int argc, char **argv) {
  size_t count = (size_t)(argc - 1);
  double *values = calloc(count ? count : 1, sizeof *values);
  if (!values) return 1;
  for (size_t i = 0; i < count; i++) values[i] = strtod(argv[i + 1], NULL);
  sort_values(values, count);
  printf("count %zu\n", count);
  printf("sorted");
  for (size_t i = 0; i < count; i++) printf(" %g", values[i]);
  printf("\nmean %.4f\nstddev %.4f\n", mean(values, count), stddev(values, count));
  free(values);
  return 0;
}
