// Package units writes the benchmark figures the report and the chart
// show: durations and rates with three significant digits.
package units

import (
	"fmt"
	"math"
)

// Duration writes a duration given in nanoseconds in a fitting unit; ""
// for zero, negative or NaN (nothing measured).
func Duration(ns float64) string {
	switch {
	case ns <= 0 || math.IsNaN(ns):
		return ""
	case ns < 1e3:
		return fmt.Sprintf("%.3g ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	}
	return fmt.Sprintf("%.3g s", ns/1e9)
}

// Rate writes a rate (rows per second) with a k or M suffix; "" for zero
// or NaN.
func Rate(v float64) string {
	switch {
	case v == 0 || math.IsNaN(v):
		return ""
	case v >= 1e6:
		return fmt.Sprintf("%.3g M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3g k", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}
