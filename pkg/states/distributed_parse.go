package states

import (
	"strings"
	"unicode"
)

// The S3 integrations a Distributed Map's ItemReader and ResultWriter name as
// their Resource (docs/aws-facts.md "Step Functions Distributed Map").
const (
	ResourceS3ListObjectsV2 = "arn:aws:states:::s3:listObjectsV2"
	ResourceS3GetObject     = "arn:aws:states:::s3:getObject"
	ResourceS3PutObject     = "arn:aws:states:::s3:putObject"
)

// The ReaderConfig.InputType values of an ItemReader reading one object.
const (
	InputTypeJSON     = "JSON"
	InputTypeJSONL    = "JSONL"
	InputTypeCSV      = "CSV"
	InputTypeManifest = "MANIFEST"
)

// Limits of a Distributed Map.
const (
	// MaxDistributedConcurrency is the most child workflow executions a Map
	// Run runs at once, and how many it runs when MaxConcurrency is 0 or
	// absent.
	MaxDistributedConcurrency = 10000
	// MaxReaderItems is the most items ReaderConfig.MaxItems may ask for.
	MaxReaderItems = 100000000
	// maxLabelLength is the longest Label.
	maxLabelLength = 40
)

// distributed is the configuration of a Distributed Map state.
type distributed struct {
	// executionType is TypeStandard or TypeExpress: the child workflow
	// executions' kind.
	executionType string
	label         string
	reader        *itemReader
	batcher       *itemBatcher
	writer        *tmpl // ResultWriter.Parameters
	// child is the ItemProcessor as the machine each child workflow
	// execution runs.
	child *Machine
}

// itemReader is a Distributed Map's ItemReader.
type itemReader struct {
	list   bool // listObjectsV2; else getObject
	params *tmpl
	// inputType is one of the InputType* constants (getObject only).
	inputType string
	// csvGiven: CSVHeaderLocation GIVEN, with csvHeaders; else FIRST_ROW.
	csvGiven     bool
	csvHeaders   []string
	csvDelimiter rune
	maxItems     int // 0: every item
	maxItemsPath *valuePath
}

// itemBatcher is a Distributed Map's ItemBatcher.
type itemBatcher struct {
	maxItems, maxBytes         int // 0: no limit of that kind
	maxItemsPath, maxBytesPath *valuePath
	batchInput                 *tmpl
}

// csvDelimiters are the ReaderConfig.CSVDelimiter values.
var csvDelimiters = map[string]rune{"COMMA": ',', "PIPE": '|', "SEMICOLON": ';', "SPACE": ' ', "TAB": '\t'}

// distributedFields checks the Map fields that only a Distributed Map has
// (ItemReader, ItemBatcher, ResultWriter, Label) and sets s.dist when mode is
// DISTRIBUTED. proc names the ItemProcessor field for messages.
func (p *parser) distributedFields(s *state, o map[string]any, proc, mode, execType string) {
	if mode != "DISTRIBUTED" {
		if execType != "" {
			p.add(s.name, proc+".ProcessorConfig.ExecutionType", `applies to a Distributed Map only: set ProcessorConfig.Mode to "DISTRIBUTED" too, or remove ExecutionType`)
		}
		for _, k := range []string{"ItemReader", "ItemBatcher", "ResultWriter"} {
			if has(o, k) {
				p.add(s.name, k, `is a Distributed Map field: set %s.ProcessorConfig to {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"} (or "EXPRESS"), or remove %s`, proc, k)
			}
		}
		if v, ok := o["Label"]; ok {
			p.label(s, v)
		}
		return
	}
	d := &distributed{executionType: execType}
	if execType == "" {
		p.add(s.name, proc+".ProcessorConfig.ExecutionType", `is required with Mode "DISTRIBUTED": "STANDARD" or "EXPRESS", the kind of child workflow execution each item (or batch) runs in`)
	}
	if v, ok := o["Label"]; ok {
		d.label = p.label(s, v)
	}
	if v, ok := o["ItemReader"]; ok {
		d.reader = p.itemReader(s, v)
		if has(o, "ItemsPath") {
			p.add(s.name, "ItemsPath", "selects the items from the state input, while ItemReader reads them from S3: keep one of the two")
		}
	}
	if v, ok := o["ItemBatcher"]; ok {
		d.batcher = p.itemBatcher(s, v)
	}
	if v, ok := o["ResultWriter"]; ok {
		d.writer = p.resultWriter(s, v)
	}
	if s.processor != nil {
		d.child = &Machine{root: s.processor}
	}
	s.dist = d
}

// label checks a Label: at most 40 characters, none of them white space,
// brackets, wildcards, special or control characters.
func (p *parser) label(s *state, v any) string {
	str, ok := v.(string)
	if !ok || str == "" || len([]rune(str)) > maxLabelLength {
		p.add(s.name, "Label", "must be a non-empty string of at most %d characters", maxLabelLength)
		return ""
	}
	for _, r := range str {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`<>{}[]?*"#%\^|~`+"`$&,;:/", r) {
			p.add(s.name, "Label", "%q has the character %q: a Label may not contain white space, brackets, wildcards, special or control characters", str, r)
			return ""
		}
	}
	return str
}

func (p *parser) itemReader(s *state, v any) *itemReader {
	o, ok := v.(map[string]any)
	if !ok {
		p.add(s.name, "ItemReader", "must be an object with Resource, Parameters and (for getObject) ReaderConfig")
		return nil
	}
	r := &itemReader{csvDelimiter: ','}
	for k := range o {
		switch k {
		case "Resource", "Parameters", "ReaderConfig":
		default:
			p.add(s.name, "ItemReader."+k, "unknown field (ItemReader has Resource, Parameters, ReaderConfig)")
		}
	}
	switch res := o["Resource"]; res {
	case ResourceS3ListObjectsV2:
		r.list = true
	case ResourceS3GetObject:
	default:
		p.add(s.name, "ItemReader.Resource", "must be %q (the objects under a prefix) or %q (the items in one object); got %s", ResourceS3ListObjectsV2, ResourceS3GetObject, jsonText(res))
	}
	if pv, ok := o["Parameters"].(map[string]any); ok {
		r.params = p.template(s.name, "ItemReader.Parameters", pv)
		p.checkS3Params(s, "ItemReader.Parameters", pv, r.list)
	} else {
		p.add(s.name, "ItemReader.Parameters", `must be an object naming the S3 location: {"Bucket": …, "Prefix": …} for listObjectsV2, {"Bucket": …, "Key": …} for getObject`)
	}
	cfg, hasCfg := o["ReaderConfig"].(map[string]any)
	if has(o, "ReaderConfig") && !hasCfg {
		p.add(s.name, "ItemReader.ReaderConfig", "must be an object")
	}
	var headerLoc string
	var hasHeaders bool
	for k, cv := range cfg {
		f := "ItemReader.ReaderConfig." + k
		switch k {
		case "InputType":
			switch cv {
			case InputTypeJSON, InputTypeJSONL, InputTypeCSV, InputTypeManifest:
				r.inputType = cv.(string)
			case "PARQUET":
				p.add(s.name, f, `"PARQUET" is not supported by this engine (JSON, JSONL, CSV and MANIFEST are)`)
			default:
				p.add(s.name, f, `must be "JSON", "JSONL", "CSV" or "MANIFEST"; got %s`, jsonText(cv))
			}
		case "CSVHeaderLocation":
			if cv != "FIRST_ROW" && cv != "GIVEN" {
				p.add(s.name, f, `must be "FIRST_ROW" (the first line is the header) or "GIVEN" (CSVHeaders names the columns); got %s`, jsonText(cv))
			}
			headerLoc, _ = cv.(string)
			r.csvGiven = cv == "GIVEN"
		case "CSVHeaders":
			hasHeaders = true
			arr, ok := cv.([]any)
			if !ok || len(arr) == 0 {
				p.add(s.name, f, "must be a non-empty array of column names")
				break
			}
			seen := map[string]bool{}
			for _, h := range arr {
				name, ok := h.(string)
				if !ok || name == "" {
					p.add(s.name, f, "column names must be non-empty strings; got %s", jsonText(h))
					continue
				}
				if seen[name] {
					p.add(s.name, f, "column %q is named twice", name)
				}
				seen[name] = true
				r.csvHeaders = append(r.csvHeaders, name)
			}
		case "CSVDelimiter":
			str, _ := cv.(string)
			d, ok := csvDelimiters[str]
			if !ok {
				p.add(s.name, f, `must be "COMMA", "PIPE", "SEMICOLON", "SPACE" or "TAB"; got %s`, jsonText(cv))
			}
			r.csvDelimiter = d
		case "MaxItems":
			n, ok := intValue(cv)
			if !ok || n < 0 || n > MaxReaderItems {
				p.add(s.name, f, "must be an integer from 0 (every item) to %d", MaxReaderItems)
			}
			r.maxItems = n
		case "MaxItemsPath":
			r.maxItemsPath = p.path(s.name, f, cv, true, true)
		default:
			p.add(s.name, f, "unknown field (ReaderConfig has InputType, CSVHeaderLocation, CSVHeaders, CSVDelimiter, MaxItems, MaxItemsPath)")
		}
	}
	if has(cfg, "MaxItems") && has(cfg, "MaxItemsPath") {
		p.add(s.name, "ItemReader.ReaderConfig.MaxItems", "MaxItems and MaxItemsPath are mutually exclusive")
	}
	switch {
	case r.list && r.inputType != "":
		p.add(s.name, "ItemReader.ReaderConfig.InputType", "applies to %s only: listObjectsV2 yields the objects themselves; remove InputType", ResourceS3GetObject)
	case !r.list && has(o, "Resource") && o["Resource"] == ResourceS3GetObject && r.inputType == "" && !has(cfg, "InputType"):
		p.add(s.name, "ItemReader.ReaderConfig.InputType", `is required with %s: "JSON" (an array), "JSONL" (a value a line), "CSV" or "MANIFEST" (an S3 inventory manifest.json)`, ResourceS3GetObject)
	}
	csv := r.inputType == InputTypeCSV
	switch {
	case csv && headerLoc == "" && has(cfg, "InputType"):
		p.add(s.name, "ItemReader.ReaderConfig.CSVHeaderLocation", `is required with InputType "CSV": "FIRST_ROW" or "GIVEN" (with CSVHeaders)`)
	case !csv && (headerLoc != "" || hasHeaders || has(cfg, "CSVDelimiter")):
		p.add(s.name, "ItemReader.ReaderConfig", `CSVHeaderLocation, CSVHeaders and CSVDelimiter apply to InputType "CSV" only`)
	case csv && r.csvGiven && !hasHeaders:
		p.add(s.name, "ItemReader.ReaderConfig.CSVHeaders", `is required with CSVHeaderLocation "GIVEN": the column names, in order`)
	case csv && !r.csvGiven && hasHeaders:
		p.add(s.name, "ItemReader.ReaderConfig.CSVHeaders", `applies to CSVHeaderLocation "GIVEN" only (with "FIRST_ROW" the first line names the columns)`)
	}
	return r
}

// checkS3Params checks the static keys of an ItemReader's or ResultWriter's
// Parameters: Bucket is needed, and the location's other parts.
func (p *parser) checkS3Params(s *state, field string, pv map[string]any, list bool) {
	allowed := map[string]bool{"Bucket": true, "Key": !list, "Prefix": list, "VersionId": !list}
	var want []string
	for k, ok := range allowed {
		if ok {
			want = append(want, k)
		}
	}
	for k := range pv {
		base := strings.TrimSuffix(k, ".$")
		if !allowed[base] {
			p.add(s.name, field+"."+k, "unknown parameter (expected %s)", strings.Join(sortedStrings(want), ", "))
		}
	}
	need := []string{"Bucket"}
	if !list {
		need = append(need, "Key")
	}
	for _, k := range need {
		if !has(pv, k) && !has(pv, k+".$") {
			p.add(s.name, field, "needs %s (or %s.$)", k, k)
		}
	}
}

func sortedStrings(xs []string) []string {
	out := append([]string(nil), xs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (p *parser) itemBatcher(s *state, v any) *itemBatcher {
	o, ok := v.(map[string]any)
	if !ok {
		p.add(s.name, "ItemBatcher", "must be an object with MaxItemsPerBatch and/or MaxInputBytesPerBatch (or their …Path forms)")
		return nil
	}
	b := &itemBatcher{}
	for k, bv := range o {
		f := "ItemBatcher." + k
		switch k {
		case "MaxItemsPerBatch":
			n, ok := intValue(bv)
			if !ok || n < 1 {
				p.add(s.name, f, "must be an integer >= 1 (the most items one child workflow execution gets); got %s", jsonText(bv))
			}
			b.maxItems = n
		case "MaxInputBytesPerBatch":
			n, ok := intValue(bv)
			if !ok || n < 1 || n > DefaultMaxPayloadBytes {
				p.add(s.name, f, "must be an integer from 1 to %d (a child's input is at most 256 KiB); got %s", DefaultMaxPayloadBytes, jsonText(bv))
			}
			b.maxBytes = n
		case "MaxItemsPerBatchPath":
			b.maxItemsPath = p.path(s.name, f, bv, true, true)
		case "MaxInputBytesPerBatchPath":
			b.maxBytesPath = p.path(s.name, f, bv, true, true)
		case "BatchInput":
			if _, ok := bv.(map[string]any); !ok {
				p.add(s.name, f, "must be a JSON object (it is passed to every child as its BatchInput)")
			}
			b.batchInput = p.template(s.name, f, bv)
		default:
			p.add(s.name, f, "unknown field (ItemBatcher has MaxItemsPerBatch, MaxItemsPerBatchPath, MaxInputBytesPerBatch, MaxInputBytesPerBatchPath, BatchInput)")
		}
	}
	for _, k := range []string{"MaxItemsPerBatch", "MaxInputBytesPerBatch"} {
		if has(o, k) && has(o, k+"Path") {
			p.add(s.name, "ItemBatcher."+k, "%s and %sPath are mutually exclusive", k, k)
		}
	}
	if !has(o, "MaxItemsPerBatch") && !has(o, "MaxItemsPerBatchPath") && !has(o, "MaxInputBytesPerBatch") && !has(o, "MaxInputBytesPerBatchPath") {
		p.add(s.name, "ItemBatcher", "needs MaxItemsPerBatch, MaxInputBytesPerBatch or one of their …Path forms: how big a batch may be")
	}
	return b
}

func (p *parser) resultWriter(s *state, v any) *tmpl {
	o, ok := v.(map[string]any)
	if !ok {
		p.add(s.name, "ResultWriter", `must be an object: {"Resource": %q, "Parameters": {"Bucket": …, "Prefix": …}}`, ResourceS3PutObject)
		return nil
	}
	for k := range o {
		switch k {
		case "Resource", "Parameters":
		case "WriterConfig":
			p.add(s.name, "ResultWriter.WriterConfig", "is not supported by this engine (results are written untransformed, as JSON)")
		default:
			p.add(s.name, "ResultWriter."+k, "unknown field (ResultWriter has Resource and Parameters)")
		}
	}
	if res := o["Resource"]; res != ResourceS3PutObject {
		p.add(s.name, "ResultWriter.Resource", "must be %q; got %s", ResourceS3PutObject, jsonText(res))
	}
	pv, ok := o["Parameters"].(map[string]any)
	if !ok {
		p.add(s.name, "ResultWriter.Parameters", `must be an object: {"Bucket": …, "Prefix": …}`)
		return nil
	}
	for k := range pv {
		if base := strings.TrimSuffix(k, ".$"); base != "Bucket" && base != "Prefix" {
			p.add(s.name, "ResultWriter.Parameters."+k, "unknown parameter (expected Bucket, Prefix)")
		}
	}
	if !has(pv, "Bucket") && !has(pv, "Bucket.$") {
		p.add(s.name, "ResultWriter.Parameters", "needs Bucket (or Bucket.$): where the results are written")
	}
	return p.template(s.name, "ResultWriter.Parameters", pv)
}
