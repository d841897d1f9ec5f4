package states

import "testing"

func TestWarningsToleratedOnInlineMap(t *testing.T) {
	tests := []struct {
		name string
		def  string
		want []Problem
	}{
		{"InlineCount", `{"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailureCount":1,
		  "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			[]Problem{{State: "M", Field: "ToleratedFailureCount"}}},
		{"ExplicitInlinePercentagePath", `{"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailurePercentagePath":"$.p",
		  "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			[]Problem{{State: "M", Field: "ToleratedFailurePercentagePath"}}},
		{"LegacyIterator", `{"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailurePercentage":10,"ToleratedFailureCountPath":"$.n",
		  "Iterator":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			[]Problem{{State: "M", Field: "ToleratedFailureCountPath"}, {State: "M", Field: "ToleratedFailurePercentage"}}},
		{"Distributed", `{"StartAt":"M","States":{"M":{"Type":"Map","ToleratedFailureCount":1,
		  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`,
			nil},
		{"NestedInParallelAndMap", `{"StartAt":"Par","States":{"Par":{"Type":"Parallel","End":true,"Branches":[
		  {"StartAt":"Outer","States":{"Outer":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"Inner","States":{
		    "Inner":{"Type":"Map","ToleratedFailureCount":0,"End":true,"ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}}}}]}}}`,
			[]Problem{{State: "Inner", Field: "ToleratedFailureCount"}}},
		{"NoToleratedFields", `{"StartAt":"M","States":{"M":{"Type":"Map",
		  "ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`, nil},
		{"NotJSON", `{"StartAt":`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Warnings([]byte(tt.def))
			if len(got) != len(tt.want) {
				t.Fatalf("Warnings = %v, want %d warnings", got, len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].State != w.State || got[i].Field != w.Field || got[i].Message == "" {
					t.Fatalf("warning %d = %+v, want state %q field %q with a message", i, got[i], w.State, w.Field)
				}
			}
			if tt.name == "NotJSON" {
				return
			}
			// A warning is only a note: the definition stays valid and runs as before.
			if problems := Validate([]byte(tt.def)); len(problems) != 0 {
				t.Fatalf("Validate = %v, want no problems", problems)
			}
		})
	}
}
