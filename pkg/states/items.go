package states

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The parsers of the datasets an ItemReader reads with getObject. Each
// returns the items in order, at most max of them (0: all), or an error
// saying where the data is wrong; the engine reports it as
// States.ItemReaderFailed.

// parseJSONItems reads a JSON array: its elements are the items.
func parseJSONItems(body []byte, max int) ([]any, error) {
	v, err := decode(body)
	if err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("InputType JSON needs a JSON array of items; the object holds %s", kindName(v))
	}
	if max > 0 && len(arr) > max {
		arr = arr[:max]
	}
	return arr, nil
}

// parseJSONLItems reads JSON Lines: every non-blank line is one item.
func parseJSONLItems(body []byte, max int) ([]any, error) {
	var out []any
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64*1024), len(body)+1)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		v, err := decode(b)
		if err != nil {
			return nil, fmt.Errorf("line %d is not valid JSON: %v", line, err)
		}
		out = append(out, v)
		if max > 0 && len(out) == max {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading JSON Lines: %v", err)
	}
	return out, nil
}

// maxCSVHeaderBytes is the largest CSV header Step Functions reads (10 KiB).
const maxCSVHeaderBytes = 10 * 1024

// parseCSVItems reads CSV: each row becomes an object of the column names
// (the first row's, unless headers are given) to the row's values, which
// stay strings. Every row must have as many values as there are columns.
func parseCSVItems(body []byte, headers []string, delim rune, max int) ([]any, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.Comma = delim
	r.ReuseRecord = true
	if headers == nil {
		if i := bytes.IndexByte(body, '\n'); i > maxCSVHeaderBytes || i < 0 && len(body) > maxCSVHeaderBytes {
			return nil, fmt.Errorf("the CSV header is longer than %d bytes", maxCSVHeaderBytes)
		}
		rec, err := r.Read()
		if err == io.EOF {
			return nil, errors.New("the CSV object is empty: CSVHeaderLocation FIRST_ROW needs a header row")
		}
		if err != nil {
			return nil, csvError(err)
		}
		seen := map[string]bool{}
		for _, h := range rec {
			if seen[h] {
				return nil, fmt.Errorf("the CSV header names column %q twice", h)
			}
			seen[h] = true
		}
		headers = append([]string(nil), rec...)
	}
	r.FieldsPerRecord = len(headers)
	var out []any
	for max <= 0 || len(out) < max {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		item := make(map[string]any, len(headers))
		for i, h := range headers {
			item[h] = strings.Clone(rec[i])
		}
		out = append(out, item)
	}
	return out, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return fmt.Errorf("CSV line %d has a different number of values than there are columns", pe.Line)
		}
		return fmt.Errorf("CSV line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("reading CSV: %v", err)
}

// inventoryManifest is the part of an S3 Inventory manifest.json an
// ItemReader with InputType MANIFEST uses.
type inventoryManifest struct {
	// bucket is the destination bucket's name, where the data files are.
	bucket string
	// schema names the data files' columns.
	schema []string
	keys   []string
}

// parseManifest reads an S3 Inventory manifest.json. Only CSV inventories
// are supported, as by Step Functions.
func parseManifest(body []byte) (*inventoryManifest, error) {
	var m struct {
		DestinationBucket string `json:"destinationBucket"`
		FileFormat        string `json:"fileFormat"`
		FileSchema        string `json:"fileSchema"`
		Files             []struct {
			Key string `json:"key"`
		} `json:"files"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("the manifest is not a JSON object of an S3 Inventory manifest: %v", err)
	}
	if !strings.EqualFold(m.FileFormat, "CSV") {
		return nil, fmt.Errorf("the inventory's fileFormat is %q: only CSV inventories can be read", m.FileFormat)
	}
	bucket, ok := strings.CutPrefix(m.DestinationBucket, "arn:aws:s3:::")
	if !ok || bucket == "" {
		return nil, fmt.Errorf("the manifest's destinationBucket %q is not an S3 bucket ARN (arn:aws:s3:::name)", m.DestinationBucket)
	}
	out := &inventoryManifest{bucket: bucket}
	for _, c := range strings.Split(m.FileSchema, ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			return nil, fmt.Errorf("the manifest's fileSchema %q has an empty column name", m.FileSchema)
		}
		out.schema = append(out.schema, c)
	}
	for i, f := range m.Files {
		if f.Key == "" {
			return nil, fmt.Errorf("the manifest's files[%d] has no key", i)
		}
		out.keys = append(out.keys, f.Key)
	}
	return out, nil
}

// gunzipped returns body decompressed when it is gzip data (inventory data
// files are .csv.gz), else body.
func gunzipped(body []byte) ([]byte, error) {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("gzip: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gzip: %v", err)
	}
	return b, nil
}

func kindName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	}
	return "a number"
}
