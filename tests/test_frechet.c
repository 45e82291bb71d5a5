/* test_frechet.c — the Fréchet distance of `diffuscope eval` against closed forms: zero for a
 * set against itself, |mu|^2 + sum (1 - s)^2 for N(0, I) vs N(mu, diag(s^2)) from samples, and
 * the Jacobi eigen-decomposition reconstructing a random symmetric matrix. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "frechet.h"
#include "rng.h"

int main(void) {
    ds_rng r;
    ds_rng_seed(&r, 5);
    const int n = 20000, d = 4;
    float *a = malloc(sizeof(float) * n * d), *b = malloc(sizeof(float) * n * d);
    const double mu[4] = {1.0, -0.5, 0.0, 2.0}, s[4] = {1.0, 2.0, 0.5, 1.5};
    double want = 0;
    for (int j = 0; j < d; j++) want += mu[j] * mu[j] + (1 - s[j]) * (1 - s[j]);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            a[i * d + j] = (float)ds_rng_normal(&r);
            b[i * d + j] = (float)(mu[j] + s[j] * ds_rng_normal(&r));
        }
    double self = frechet_distance(a, n, a, n, d);
    CHECK(fabs(self) < 1e-8, "FD of a set with itself is 0 (got %.3g)", self);
    double fd = frechet_distance(a, n, b, n, d);
    printf("FD N(0,I) vs N(mu, diag(s^2)): %.4f, closed form %.4f\n", fd, want);
    CHECK(fabs(fd - want) < 0.05 * want, "FD from samples %.4f vs closed form %.4f", fd, want);
    /* the distance is symmetric in its two sets */
    double fd_sym = frechet_distance(b, n, a, n, d);
    CHECK(fabs(fd - fd_sym) < 1e-6 * want, "FD is symmetric (%.9g vs %.9g)", fd, fd_sym);

    /* Jacobi: A = V diag(w) V^T for a random symmetric 12 x 12 */
    enum { M = 12 };
    double A[M * M], W[M * M], w[M], V[M * M];
    for (int i = 0; i < M; i++)
        for (int j = 0; j <= i; j++) A[i * M + j] = A[j * M + i] = ds_rng_normal(&r);
    for (int i = 0; i < M * M; i++) W[i] = A[i];
    frechet_jacobi_eigen(W, M, w, V);
    double err = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < M; j++) {
            double x = 0;
            for (int k = 0; k < M; k++) x += V[i * M + k] * w[k] * V[j * M + k];
            err = fmax(err, fabs(x - A[i * M + j]));
        }
    CHECK(err < 1e-10, "Jacobi reconstructs A (max err %.3g)", err);
    free(a);
    free(b);
    return check_summary("test_frechet");
}
