/* frechet.c — Fréchet distance between Gaussians fitted to two feature sets (see frechet.h). */
#include "frechet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* Symmetric eigen-decomposition by cyclic Jacobi: a (n, n) is destroyed; w (n) eigenvalues,
 * v (n, n) eigenvectors in columns. */
void frechet_jacobi_eigen(double *a, int n, double *w, double *v) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) v[i * n + j] = i == j;
    double norm2 = 0;
    for (int i = 0; i < n * n; i++) norm2 += a[i] * a[i];
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) off += a[i * n + j] * a[i * n + j];
        if (off <= 1e-30 * norm2) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (fabs(apq) < 1e-300) continue;
                double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double cs = 1 / sqrt(t * t + 1), sn = t * cs;
                for (int k = 0; k < n; k++) {
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = cs * akp - sn * akq;
                    a[k * n + q] = sn * akp + cs * akq;
                }
                for (int k = 0; k < n; k++) {
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = cs * apk - sn * aqk;
                    a[q * n + k] = sn * apk + cs * aqk;
                }
                for (int k = 0; k < n; k++) {
                    double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = cs * vkp - sn * vkq;
                    v[k * n + q] = sn * vkp + cs * vkq;
                }
            }
    }
    for (int i = 0; i < n; i++) w[i] = a[i * n + i];
}

static void mean_cov(const float *f, int n, int d, double *mu, double *cov) {
    for (int j = 0; j < d; j++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += f[(size_t)i * d + j];
        mu[j] = s / n;
    }
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += (f[(size_t)i * d + a] - mu[a]) * (f[(size_t)i * d + b] - mu[b]);
            cov[a * d + b] = cov[b * d + a] = s / (n - 1);
        }
}

double frechet_distance(const float *f1, int n1, const float *f2, int n2, int d) {
    double *mu1 = calloc(d, 8), *mu2 = calloc(d, 8), *s1 = calloc((size_t)d * d, 8), *s2 = calloc((size_t)d * d, 8);
    double *v = calloc((size_t)d * d, 8), *w = calloc(d, 8), *r = calloc((size_t)d * d, 8), *m = calloc((size_t)d * d, 8);
    mean_cov(f1, n1, d, mu1, s1);
    mean_cov(f2, n2, d, mu2, s2);
    double fd = 0, tr1 = 0, tr2 = 0;
    for (int j = 0; j < d; j++) fd += (mu1[j] - mu2[j]) * (mu1[j] - mu2[j]), tr1 += s1[j * d + j], tr2 += s2[j * d + j];
    /* r = S1^1/2 = V diag(sqrt w) V^T */
    memcpy(m, s1, sizeof(double) * d * d);
    frechet_jacobi_eigen(m, d, w, v);
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += v[a * d + k] * sqrt(fmax(w[k], 0)) * v[b * d + k];
            r[a * d + b] = s;
        }
    /* m = r S2 r */
    double *t = calloc((size_t)d * d, 8);
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += r[a * d + k] * s2[k * d + b];
            t[a * d + b] = s;
        }
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += t[a * d + k] * r[k * d + b];
            m[a * d + b] = s;
        }
    frechet_jacobi_eigen(m, d, w, v);
    double trsq = 0;
    for (int j = 0; j < d; j++) trsq += sqrt(fmax(w[j], 0));
    fd += tr1 + tr2 - 2 * trsq;
    free(mu1), free(mu2), free(s1), free(s2), free(v), free(w), free(r), free(m), free(t);
    return fd;
}

