/* frechet.h — the Fréchet distance between Gaussians fitted to two sets of feature vectors
 * (the "FID" formula, here on our own classifier's features):
 *   FD = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr sqrt(S1^1/2 S2 S1^1/2)
 * with sample means and covariances (n - 1), all in double; the matrix square roots come from
 * a cyclic Jacobi eigen-decomposition (exact to ~1e-12 for the d <= a few hundred used here).
 * Not here: the features (cmd_eval.c's classifier). */
#ifndef DS_FRECHET_H
#define DS_FRECHET_H

/* f1 (n1, d), f2 (n2, d) row-major; n1, n2 >= 2. */
double frechet_distance(const float *f1, int n1, const float *f2, int n2, int d);

/* Symmetric eigen-decomposition of a (n, n) (destroyed): w (n) eigenvalues, v (n, n) the
 * eigenvectors in columns. */
void frechet_jacobi_eigen(double *a, int n, double *w, double *v);

#endif
