package producer

import (
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Duration
	}{
		{"Absent", "", 0},
		{"Seconds", "7", 7 * time.Second},
		{"Spaces", " 3 ", 3 * time.Second},
		{"Zero", "0", 0},
		{"Negative", "-4", 0},
		{"Capped", "86400", MaxRetryAfter},
		{"Huge", "99999999999999999999", 0},
		{"Date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"PastDate", now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"FarDate", now.Add(48 * time.Hour).Format(http.TimeFormat), MaxRetryAfter},
		{"Garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := retryAfter(tt.in, now), tt.want; got != want {
				t.Fatalf("retryAfter(%q) = %v, want %v", tt.in, got, want)
			}
		})
	}
}

// FuzzRetryAfter: any header value gives a wait in [0, MaxRetryAfter].
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "7", "-1", "86400", "Wed, 25 Nov 2026 03:01:30 GMT", "Monday, 02-Jan-06 15:04:05 MST", "x"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if got := retryAfter(v, now); got < 0 || got > MaxRetryAfter {
			t.Fatalf("retryAfter(%q) = %v, outside [0, %v]", v, got, MaxRetryAfter)
		}
	})
}
