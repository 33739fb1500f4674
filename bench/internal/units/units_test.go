package units

import (
	"math"
	"testing"
)

func TestDuration(t *testing.T) {
	for ns, want := range map[float64]string{0: "", -1: "", math.NaN(): "", 999: "999 ns", 40500: "40.5 µs", 2.5e6: "2.5 ms", 2.47e9: "2.47 s"} {
		if got := Duration(ns); got != want {
			t.Errorf("Duration(%v) = %q, want %q", ns, got, want)
		}
	}
}

func TestRate(t *testing.T) {
	for v, want := range map[float64]string{0: "", math.NaN(): "", 12: "12", 971000: "971 k", 1.58e6: "1.58 M"} {
		if got := Rate(v); got != want {
			t.Errorf("Rate(%v) = %q, want %q", v, got, want)
		}
	}
}
