/* The recurrent layers' time loops in C: one direction of one layer of M models (the
 * ensemble's members, or one model), for the LSTM, GRU and RNN of PyTorch's
 * nn.LSTM/nn.GRU/nn.RNN math and layout, with tanh or softsign (`softsign`) as the
 * cell activation.
 *
 * Built and loaded by native.py (plain C, no torch headers: it compiles in about a
 * second).  Python keeps the big batched matmuls (the input projection, the weight
 * gradients, the input gradient); these functions do what is left, the loops over time,
 * with each step's matmul and gate arithmetic done per batch row, while that row's data
 * is in cache.
 *
 * Layouts (float32, contiguous, row-major; G = 4H for the LSTM, 3H for the GRU, H for
 * the RNN):
 *   xp     (M, T, B, G)    x W_ih^T + b_ih, plus b_hh but for the GRU (whose b_hn
 *                          is inside r * (...))
 *   whh_t  (M, H, G)       W_hh^T (forward);  whh (M, G, H) W_hh (backward)
 *   hs, cs (M, T+2, B, H)  slot s+1 holds step s; slots 0 and T+1 stay zero (the initial
 *                          state of the forward and of the reverse direction)
 *   acts   (M, T, B, G)    the gates after their activations: i f g o (LSTM), r z n (GRU)
 *   tcs    (M, T, B, H)    LSTM: tanh(c_s);  hpn (M, T, B, H) GRU: W_hn h + b_hn
 *   dxp    (M, T, B, G)    backward's output: the loss gradient of xp; for the GRU also
 *                          dhp, that of h W_hh^T + b_hh (the LSTM's and RNN's equal dxp)
 *   grad   (M, T, B, H)    the loss gradient of every step's h, or (M, B, H) of the final
 *                          h only (`only_last`)
 *   dh, dc (B, H)          backward's scratch: what flows to the step before
 *   dh_out (M, T, B, H)    backward's optional output (NULL: none): the loss gradient of
 *                          every step's h through the steps after it too (the gradient
 *                          probe's ∂L/∂h_t)
 */

#include <stdint.h>
#include <string.h>

/* Subnormal floats (below 1.2e-38) count as zero inside these loops, as in GPU kernels:
 * a vanishing gradient that decays into them made every later multiply-add ~100x slower
 * (a softsign RNN's backward ran 8x slower).  The caller's mode is restored on return. */
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define FLUSH_SUBNORMALS const unsigned int csr_ = _mm_getcsr(); _mm_setcsr(csr_ | 0x8040)
#define RESTORE_MODE _mm_setcsr(csr_)
#else
#define FLUSH_SUBNORMALS do {} while (0)
#define RESTORE_MODE do {} while (0)
#endif

/* exp(x) that the compiler vectorizes: Cephes' expf (range reduction by ln 2 and a
 * degree-5 polynomial, ~1 ulp).  Comparisons, not fminf/fmaxf, clamp x, so that a NaN
 * stays NaN (a diverged member must still show a non-finite loss). */
static inline float exp_(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

static inline float sigmoid_(float x) { return 1.0f / (1.0f + exp_(-x)); }

/* tanh(x) = 2 sigmoid(2x) - 1: within 2e-7 of tanhf, and vectorized. */
static inline float tanh_(float x) { return 2.0f / (1.0f + exp_(-2.0f * x)) - 1.0f; }

/* The cell activation, tanh or softsign x / (1 + |x|), and its slope from y = act(x).
 * `soft` is the same for a whole call: the compiler unswitches the loops on it. */
static inline float act_(float x, int soft) {
    return soft ? x / (1.0f + __builtin_fabsf(x)) : tanh_(x);
}

static inline float dact_(float y, int soft) {
    const float u = 1.0f - __builtin_fabsf(y);
    return soft ? u * u : 1.0f - y * y;
}

/* out[0:N] += v[0:K] W, W a K x N matrix (row-major).  The sums stay in registers, in
 * enough independent chains to keep the FMA units busy (one chain waits ~4 cycles per
 * term): 64 columns at once, else 16 columns with the K terms split four ways. */
static inline void add_vecmat(int64_t K, int64_t N, const float *restrict v,
                              const float *restrict w, float *restrict out) {
    int64_t n0 = 0;
    for (; n0 + 64 <= N; n0 += 64) {
        float acc[64];
        for (int j = 0; j < 64; j++)
            acc[j] = out[n0 + j];
        for (int64_t k = 0; k < K; k++) {
            const float vk = v[k];
            const float *wk = w + k * N + n0;
            for (int j = 0; j < 64; j++)
                acc[j] += vk * wk[j];
        }
        for (int j = 0; j < 64; j++)
            out[n0 + j] = acc[j];
    }
    for (; n0 + 16 <= N; n0 += 16) {
        float a0[16], a1[16], a2[16], a3[16];
        for (int j = 0; j < 16; j++)
            a0[j] = a1[j] = a2[j] = a3[j] = 0.0f;
        int64_t k = 0;
        for (; k + 4 <= K; k += 4) {
            const float *wk = w + k * N + n0;
            const float v0 = v[k], v1 = v[k + 1], v2 = v[k + 2], v3 = v[k + 3];
            for (int j = 0; j < 16; j++) {
                a0[j] += v0 * wk[j];
                a1[j] += v1 * wk[N + j];
                a2[j] += v2 * wk[2 * N + j];
                a3[j] += v3 * wk[3 * N + j];
            }
        }
        for (; k < K; k++)
            for (int j = 0; j < 16; j++)
                a0[j] += v[k] * w[k * N + n0 + j];
        for (int j = 0; j < 16; j++)
            out[n0 + j] += (a0[j] + a1[j]) + (a2[j] + a3[j]);
    }
    for (; n0 < N; n0++) {
        float acc = out[n0];
        for (int64_t k = 0; k < K; k++)
            acc += v[k] * w[k * N + n0];
        out[n0] = acc;
    }
}

void lstm_forward(int64_t M, int64_t T, int64_t B, int64_t H, int reverse, int softsign,
                  const float *restrict xp, const float *restrict whh_t,
                  float *restrict hs, float *restrict cs, float *restrict acts,
                  float *restrict tcs) {
    FLUSH_SUBNORMALS;
    const int64_t G = 4 * H;
    for (int64_t m = 0; m < M; m++) {
        const float *w = whh_t + m * H * G;
        for (int64_t step = 0; step < T; step++) {
            const int64_t s = reverse ? T - 1 - step : step;
            const int64_t prev = reverse ? s + 2 : s;          /* slot of the state before */
            for (int64_t b = 0; b < B; b++) {
                const float *h_prev = hs + ((m * (T + 2) + prev) * B + b) * H;
                const float *c_prev = cs + ((m * (T + 2) + prev) * B + b) * H;
                float *h = hs + ((m * (T + 2) + s + 1) * B + b) * H;
                float *c = cs + ((m * (T + 2) + s + 1) * B + b) * H;
                float *a = acts + ((m * T + s) * B + b) * G;
                float *tc = tcs + ((m * T + s) * B + b) * H;
                memcpy(a, xp + ((m * T + s) * B + b) * G, G * sizeof(float));
                add_vecmat(H, G, h_prev, w, a);
                for (int64_t g = 0; g < 2 * H; g++)
                    a[g] = sigmoid_(a[g]);
                for (int64_t g = 2 * H; g < 3 * H; g++)
                    a[g] = act_(a[g], softsign);
                for (int64_t g = 3 * H; g < G; g++)
                    a[g] = sigmoid_(a[g]);
                for (int64_t j = 0; j < H; j++) {
                    const float cj = a[H + j] * c_prev[j] + a[j] * a[2 * H + j];
                    const float t = act_(cj, softsign);
                    c[j] = cj;
                    tc[j] = t;
                    h[j] = a[3 * H + j] * t;
                }
            }
        }
    }
    RESTORE_MODE;
}

void lstm_backward(int64_t M, int64_t T, int64_t B, int64_t H, int reverse, int only_last,
                   int softsign,
                   const float *restrict grad, const float *restrict whh,
                   const float *restrict cs, const float *restrict acts,
                   const float *restrict tcs, float *restrict dxp,
                   float *restrict dh, float *restrict dc, float *restrict dh_out) {
    FLUSH_SUBNORMALS;
    const int64_t G = 4 * H;
    for (int64_t m = 0; m < M; m++) {
        const float *w = whh + m * G * H;
        memset(dh, 0, B * H * sizeof(float));   /* from the step after: dz W_hh */
        memset(dc, 0, B * H * sizeof(float));   /* from the step after: dc f */
        for (int64_t step = 0; step < T; step++) {
            const int64_t s = reverse ? step : T - 1 - step;
            const int64_t prev = reverse ? s + 2 : s;
            for (int64_t b = 0; b < B; b++) {
                const float *g_out = only_last
                    ? (step == 0 ? grad + (m * B + b) * H : NULL)
                    : grad + ((m * T + s) * B + b) * H;
                const float *a = acts + ((m * T + s) * B + b) * G;
                const float *tc = tcs + ((m * T + s) * B + b) * H;
                const float *c_prev = cs + ((m * (T + 2) + prev) * B + b) * H;
                float *d = dxp + ((m * T + s) * B + b) * G;
                float *dh_b = dh + b * H, *dc_b = dc + b * H;
                float *restrict probe = dh_out ? dh_out + ((m * T + s) * B + b) * H : NULL;
                for (int64_t j = 0; j < H; j++) {
                    const float i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
                    const float t = tc[j];
                    const float dhj = g_out ? dh_b[j] + g_out[j] : dh_b[j];
                    if (probe)
                        probe[j] = dhj;
                    const float dcj = dhj * o * dact_(t, softsign) + dc_b[j];
                    d[j] = dcj * g * (i * (1.0f - i));
                    d[H + j] = dcj * c_prev[j] * (f * (1.0f - f));
                    d[2 * H + j] = dcj * i * dact_(g, softsign);
                    d[3 * H + j] = dhj * t * (o * (1.0f - o));
                    dc_b[j] = dcj * f;
                }
                if (step == T - 1)
                    continue;                 /* no step before the first */
                memset(dh_b, 0, H * sizeof(float));
                add_vecmat(G, H, d, w, dh_b);
            }
        }
    }
    RESTORE_MODE;
}

void gru_forward(int64_t M, int64_t T, int64_t B, int64_t H, int reverse, int softsign,
                 const float *restrict xp, const float *restrict whh_t,
                 const float *restrict bhh, float *restrict hs, float *restrict acts,
                 float *restrict hpn) {
    FLUSH_SUBNORMALS;
    const int64_t G = 3 * H;
    for (int64_t m = 0; m < M; m++) {
        const float *w = whh_t + m * H * G;
        for (int64_t step = 0; step < T; step++) {
            const int64_t s = reverse ? T - 1 - step : step;
            const int64_t prev = reverse ? s + 2 : s;
            for (int64_t b = 0; b < B; b++) {
                const float *h_prev = hs + ((m * (T + 2) + prev) * B + b) * H;
                const float *x = xp + ((m * T + s) * B + b) * G;
                float *h = hs + ((m * (T + 2) + s + 1) * B + b) * H;
                float *a = acts + ((m * T + s) * B + b) * G;
                float *hn = hpn + ((m * T + s) * B + b) * H;
                memcpy(a, bhh + m * G, G * sizeof(float));
                add_vecmat(H, G, h_prev, w, a);                  /* h W_hh^T + b_hh */
                for (int64_t g = 0; g < 2 * H; g++)
                    a[g] = sigmoid_(x[g] + a[g]);
                for (int64_t j = 0; j < H; j++) {
                    hn[j] = a[2 * H + j];
                    a[2 * H + j] = act_(x[2 * H + j] + a[j] * hn[j], softsign);
                }
                for (int64_t j = 0; j < H; j++) {
                    const float n = a[2 * H + j];
                    h[j] = n + a[H + j] * (h_prev[j] - n);
                }
            }
        }
    }
    RESTORE_MODE;
}

void gru_backward(int64_t M, int64_t T, int64_t B, int64_t H, int reverse, int only_last,
                  int softsign,
                  const float *restrict grad, const float *restrict whh,
                  const float *restrict hs, const float *restrict acts,
                  const float *restrict hpn, float *restrict dxp, float *restrict dhp,
                  float *restrict dh, float *restrict dh_out) {
    FLUSH_SUBNORMALS;
    const int64_t G = 3 * H;
    for (int64_t m = 0; m < M; m++) {
        const float *w = whh + m * G * H;
        memset(dh, 0, B * H * sizeof(float));
        for (int64_t step = 0; step < T; step++) {
            const int64_t s = reverse ? step : T - 1 - step;
            const int64_t prev = reverse ? s + 2 : s;
            for (int64_t b = 0; b < B; b++) {
                const float *g_out = only_last
                    ? (step == 0 ? grad + (m * B + b) * H : NULL)
                    : grad + ((m * T + s) * B + b) * H;
                const float *a = acts + ((m * T + s) * B + b) * G;
                const float *hn = hpn + ((m * T + s) * B + b) * H;
                const float *h_prev = hs + ((m * (T + 2) + prev) * B + b) * H;
                float *dx = dxp + ((m * T + s) * B + b) * G;
                float *dhh = dhp + ((m * T + s) * B + b) * G;
                float *dh_b = dh + b * H;
                float *restrict probe = dh_out ? dh_out + ((m * T + s) * B + b) * H : NULL;
                for (int64_t j = 0; j < H; j++) {
                    const float r = a[j], z = a[H + j], n = a[2 * H + j];
                    const float dhj = g_out ? dh_b[j] + g_out[j] : dh_b[j];
                    if (probe)
                        probe[j] = dhj;
                    const float dn = dhj * (1.0f - z) * dact_(n, softsign);
                    const float dr = dn * hn[j] * (r * (1.0f - r));
                    const float dz = dhj * (h_prev[j] - n) * (z * (1.0f - z));
                    dx[j] = dhh[j] = dr;
                    dx[H + j] = dhh[H + j] = dz;
                    dx[2 * H + j] = dn;
                    dhh[2 * H + j] = dn * r;
                    dh_b[j] = dhj * z;                   /* h_prev's share through z */
                }
                if (step < T - 1)
                    add_vecmat(G, H, dhh, w, dh_b);
            }
        }
    }
    RESTORE_MODE;
}

void rnn_forward(int64_t M, int64_t T, int64_t B, int64_t H, int reverse, int softsign,
                 const float *restrict xp, const float *restrict whh_t, float *restrict hs) {
    FLUSH_SUBNORMALS;
    for (int64_t m = 0; m < M; m++) {
        const float *w = whh_t + m * H * H;
        for (int64_t step = 0; step < T; step++) {
            const int64_t s = reverse ? T - 1 - step : step;
            const int64_t prev = reverse ? s + 2 : s;
            for (int64_t b = 0; b < B; b++) {
                const float *h_prev = hs + ((m * (T + 2) + prev) * B + b) * H;
                float *h = hs + ((m * (T + 2) + s + 1) * B + b) * H;
                memcpy(h, xp + ((m * T + s) * B + b) * H, H * sizeof(float));
                add_vecmat(H, H, h_prev, w, h);
                for (int64_t j = 0; j < H; j++)
                    h[j] = act_(h[j], softsign);
            }
        }
    }
    RESTORE_MODE;
}

void rnn_backward(int64_t M, int64_t T, int64_t B, int64_t H, int reverse, int only_last,
                  int softsign,
                  const float *restrict grad, const float *restrict whh,
                  const float *restrict hs, float *restrict dxp, float *restrict dh,
                  float *restrict dh_out) {
    FLUSH_SUBNORMALS;
    for (int64_t m = 0; m < M; m++) {
        const float *w = whh + m * H * H;
        memset(dh, 0, B * H * sizeof(float));
        for (int64_t step = 0; step < T; step++) {
            const int64_t s = reverse ? step : T - 1 - step;
            for (int64_t b = 0; b < B; b++) {
                const float *g_out = only_last
                    ? (step == 0 ? grad + (m * B + b) * H : NULL)
                    : grad + ((m * T + s) * B + b) * H;
                const float *h = hs + ((m * (T + 2) + s + 1) * B + b) * H;
                float *d = dxp + ((m * T + s) * B + b) * H;
                float *dh_b = dh + b * H;
                float *restrict probe = dh_out ? dh_out + ((m * T + s) * B + b) * H : NULL;
                for (int64_t j = 0; j < H; j++) {
                    const float dhj = g_out ? dh_b[j] + g_out[j] : dh_b[j];
                    if (probe)
                        probe[j] = dhj;
                    d[j] = dhj * dact_(h[j], softsign);
                }
                if (step == T - 1)
                    continue;
                memset(dh_b, 0, H * sizeof(float));
                add_vecmat(H, H, d, w, dh_b);
            }
        }
    }
    RESTORE_MODE;
}
