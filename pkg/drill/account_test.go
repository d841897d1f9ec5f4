package drill

import (
	"reflect"
	"sort"
	"testing"
	"time"
)

// countAggregates accounts window by window: a marker makes a record
// present; a record without one is present only if its marker may have
// expired (acknowledged more than the TTL ago) and its window's summary
// counts more records than the window's markers; what a summary counts
// beyond that is double-counted, markers beyond it are uncounted.
func TestCountAggregatesWithExpiredMarkers(t *testing.T) {
	now := time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)
	ttl := 7 * 24 * time.Hour
	old := now.Add(-ttl - time.Hour)   // its marker may have expired
	young := now.Add(-ttl + time.Hour) // its marker cannot have expired
	tests := []struct {
		name     string
		markers  map[string]string // id -> window
		summed   map[string]int
		expected map[string]time.Time
		windows  map[string]string // nil: every id but z in w1
		want     Store
		missing  []string
	}{
		{
			name:     "all markers",
			markers:  map[string]string{"a": "w1", "b": "w1", "c": "w2"},
			summed:   map[string]int{"w1": 2, "w2": 1},
			expected: map[string]time.Time{"a": young, "b": old, "c": old},
			want:     Store{Expected: 3, Present: 3},
		},
		{
			name:     "expired markers counted by their window",
			markers:  map[string]string{"a": "w1"},
			summed:   map[string]int{"w1": 3},
			expected: map[string]time.Time{"a": young, "b": old, "c": old},
			want:     Store{Expected: 3, Present: 3, ExpiredMarkers: 2},
		},
		{
			name:     "a young record without marker is lost whatever its window counts",
			markers:  map[string]string{"a": "w1"},
			summed:   map[string]int{"w1": 2},
			expected: map[string]time.Time{"a": young, "b": young},
			want:     Store{Expected: 2, Present: 1, Lost: 1, DoubleCounted: 1},
			missing:  []string{"b"},
		},
		{
			name:     "an old record its window does not count is lost",
			markers:  map[string]string{},
			summed:   map[string]int{"w1": 1},
			expected: map[string]time.Time{"b": old, "c": old},
			want:     Store{Expected: 2, Present: 1, Lost: 1, ExpiredMarkers: 1},
			missing:  []string{"c"},
		},
		{
			name:     "a window counting more than its markers and expired ones is double-counted",
			markers:  map[string]string{"a": "w1"},
			summed:   map[string]int{"w1": 4, "w2": 1},
			expected: map[string]time.Time{"a": old, "b": old, "d": young},
			want:     Store{Expected: 3, Present: 2, Lost: 1, ExpiredMarkers: 1, DoubleCounted: 3}, // 2 in w1, 1 in w2
			missing:  []string{"d"},
		},
		{
			name:     "a loss in one window never hides an extra count in another",
			markers:  map[string]string{"a": "w1"},
			summed:   map[string]int{"w1": 2, "w2": 0},
			expected: map[string]time.Time{"a": old, "b": old},
			windows:  map[string]string{"a": "w1", "b": "w2"},
			want:     Store{Expected: 2, Present: 1, Lost: 1, DoubleCounted: 1},
			missing:  []string{"b"},
		},
		{
			name:     "markers beyond the count",
			markers:  map[string]string{"a": "w1", "b": "w1"},
			summed:   map[string]int{"w1": 1},
			expected: map[string]time.Time{"a": old, "b": old},
			want:     Store{Expected: 2, Present: 2, Uncounted: 1},
		},
		{
			name:     "a record in no raw object has no window",
			markers:  map[string]string{},
			summed:   map[string]int{"w1": 1},
			expected: map[string]time.Time{"z": old},
			want:     Store{Expected: 1, Lost: 1, DoubleCounted: 1},
			missing:  []string{"z"},
		},
	}
	windows := map[string]string{"a": "w1", "b": "w1", "c": "w1", "d": "w1"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.windows
			if w == nil {
				w = windows
			}
			got := countAggregates(&aggregateTable{markers: tt.markers, summed: tt.summed}, tt.expected, w, now, ttl)
			if got.Store != tt.want {
				t.Fatalf("store %+v, want %+v", got.Store, tt.want)
			}
			var missing []string
			for id := range got.missing {
				missing = append(missing, id)
			}
			sort.Strings(missing)
			if !reflect.DeepEqual(missing, tt.missing) && (len(missing) != 0 || len(tt.missing) != 0) {
				t.Fatalf("missing %v, want %v", missing, tt.missing)
			}
		})
	}
}
