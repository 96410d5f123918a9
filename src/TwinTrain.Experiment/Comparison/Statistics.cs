namespace TwinTrain.Experiment.Comparison;

/// <summary>Welch's two-sample t-test on the difference of means a − b, with its confidence interval.</summary>
public sealed record WelchTest(double MeanA, double MeanB, double Difference, double StandardError, double T,
    double DegreesOfFreedom, double PValue, double Lower, double Upper, double Confidence)
{
    public bool Significant => PValue < 1 - Confidence;
}

/// <summary>The few statistics the comparison needs, computed from first principles (no statistics package).</summary>
public static class Statistics
{
    public static double Mean(IReadOnlyList<double> values) => values.Count == 0 ? double.NaN : values.Average();

    /// <summary>Sample standard deviation (n − 1 in the denominator); NaN for fewer than two values.</summary>
    public static double StandardDeviation(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return double.NaN;
        double mean = Mean(values);
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    /// <summary>Welch's t-test (unequal variances); null when either sample has fewer than two values or no spread at all.</summary>
    public static WelchTest? Welch(IReadOnlyList<double> a, IReadOnlyList<double> b, double confidence = 0.95)
    {
        if (a.Count < 2 || b.Count < 2) return null;
        double va = Math.Pow(StandardDeviation(a), 2) / a.Count, vb = Math.Pow(StandardDeviation(b), 2) / b.Count;
        double se = Math.Sqrt(va + vb);
        if (se == 0) return null;
        double difference = Mean(a) - Mean(b);
        double df = (va + vb) * (va + vb) / (va * va / (a.Count - 1) + vb * vb / (b.Count - 1));
        double t = difference / se;
        double margin = StudentQuantile(1 - (1 - confidence) / 2, df) * se;
        return new WelchTest(Mean(a), Mean(b), difference, se, t, df, TwoSidedP(t, df), difference - margin, difference + margin, confidence);
    }

    /// <summary>P(|T| ≥ |t|) for Student's t with <paramref name="df"/> degrees of freedom.</summary>
    public static double TwoSidedP(double t, double df) => RegularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);

    /// <summary>The p-quantile of Student's t (p in (0, 1)), by bisection on the distribution function.</summary>
    public static double StudentQuantile(double p, double df)
    {
        if (p is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p));
        if (p < 0.5) return -StudentQuantile(1 - p, df);
        double target = 2 * (1 - p); // the two-sided tail at the quantile
        double low = 0, high = 1;
        while (TwoSidedP(high, df) > target) high *= 2;
        for (int i = 0; i < 200 && high - low > 1e-12 * high; i++)
        {
            double middle = (low + high) / 2;
            if (TwoSidedP(middle, df) > target) low = middle; else high = middle;
        }
        return (low + high) / 2;
    }

    /// <summary>I_x(a, b), by the continued fraction (modified Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a).</summary>
    public static double RegularizedIncompleteBeta(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        if (x > (a + 1) / (a + b + 2)) return 1 - RegularizedIncompleteBeta(1 - x, b, a);
        double front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x)) / a;
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        double result = d;
        for (int m = 1; m <= 500; m++)
        {
            for (int step = 0; step < 2; step++)
            {
                double numerator = step == 0
                    ? m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
                    : -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
                d = 1 + numerator * d;
                d = 1 / (Math.Abs(d) < tiny ? tiny : d);
                c = 1 + numerator / c;
                if (Math.Abs(c) < tiny) c = tiny;
                result *= c * d;
                if (step == 1 && Math.Abs(c * d - 1) < 1e-15) return front * result;
            }
        }
        return front * result;
    }

    /// <summary>ln Γ(z) for z > 0 (Lanczos, g = 7, nine terms; about 15 significant digits).</summary>
    public static double LogGamma(double z)
    {
        if (z < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * z))) - LogGamma(1 - z);
        ReadOnlySpan<double> coefficients =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        z -= 1;
        double sum = coefficients[0];
        for (int i = 1; i < coefficients.Length; i++) sum += coefficients[i] / (z + i);
        double t = z + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (z + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
