package integration

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// timeLayout is how the integration renders timestamps in task output.
const timeLayout = "2006-01-02T15:04:05.000Z"

var (
	timeType = reflect.TypeFor[time.Time]()
	avType   = reflect.TypeFor[ddbtypes.AttributeValue]()
)

// decode assigns the JSON value src (decoded with UseNumber) to dst, walking
// the SDK type. path names the member for error messages.
func decode(dst reflect.Value, src any, path string) error {
	if src == nil {
		return nil // absent and null members leave the zero value
	}
	t := dst.Type()
	switch {
	case t == timeType:
		ts, err := decodeTime(src)
		if err != nil {
			return fmt.Errorf("%s: %v", member(path), err)
		}
		dst.Set(reflect.ValueOf(ts))
		return nil
	case t == avType:
		av, err := decodeAV(src, path)
		if err != nil {
			return err
		}
		dst.Set(reflect.ValueOf(&av).Elem())
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		v := reflect.New(t.Elem())
		if err := decode(v.Elem(), src, path); err != nil {
			return err
		}
		dst.Set(v)
	case reflect.Struct:
		obj, ok := src.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %s", member(path), kindOf(src))
		}
		for _, k := range sortedKeys(obj) {
			f, ok := field(t, k)
			if !ok {
				return fmt.Errorf("%s: unknown member %q of %s", member(path), k, t.Name())
			}
			if err := decode(dst.FieldByIndex(f.Index), obj[k], join(path, f.Name)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			s, ok := src.(string)
			if !ok {
				return fmt.Errorf("%s: want a base64 string, got %s", member(path), kindOf(src))
			}
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return fmt.Errorf("%s: %v", member(path), err)
			}
			dst.SetBytes(b)
			return nil
		}
		arr, ok := src.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %s", member(path), kindOf(src))
		}
		s := reflect.MakeSlice(t, len(arr), len(arr))
		for i, e := range arr {
			if err := decode(s.Index(i), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Map:
		obj, ok := src.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			return fmt.Errorf("%s: want an object, got %s", member(path), kindOf(src))
		}
		m := reflect.MakeMapWithSize(t, len(obj))
		for _, k := range sortedKeys(obj) {
			v := reflect.New(t.Elem()).Elem()
			if err := decode(v, obj[k], join(path, k)); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), v)
		}
		dst.Set(m)
	case reflect.String:
		s, ok := src.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %s", member(path), kindOf(src))
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := src.(bool)
		if !ok {
			return fmt.Errorf("%s: want a boolean, got %s", member(path), kindOf(src))
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := src.(json.Number)
		if !ok {
			return fmt.Errorf("%s: want a number, got %s", member(path), kindOf(src))
		}
		i, err := strconv.ParseInt(string(n), 10, t.Bits())
		if err != nil {
			return fmt.Errorf("%s: want an integer of %d bits, got %s", member(path), t.Bits(), n)
		}
		dst.SetInt(i)
	case reflect.Float32, reflect.Float64:
		n, ok := src.(json.Number)
		if !ok {
			return fmt.Errorf("%s: want a number, got %s", member(path), kindOf(src))
		}
		f, err := strconv.ParseFloat(string(n), t.Bits())
		if err != nil {
			return fmt.Errorf("%s: %v", member(path), err)
		}
		dst.SetFloat(f)
	default:
		return fmt.Errorf("%s: members of type %s are not supported", member(path), t)
	}
	return nil
}

// field finds the exported struct field a Parameters member names: by exact
// name first, then case-insensitively (Step Functions' PascalCase and the Go
// SDK's initialisms differ now and then, e.g. "SseSpecification").
func field(t reflect.Type, name string) (reflect.StructField, bool) {
	if f, ok := t.FieldByName(name); ok && f.IsExported() {
		return f, true
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func decodeTime(src any) (time.Time, error) {
	switch v := src.(type) {
	case string:
		ts, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return time.Time{}, fmt.Errorf("want an ISO 8601 timestamp, got %q", v)
		}
		return ts, nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return time.Time{}, err
		}
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want a timestamp, got %s", kindOf(src))
}

// decodeAV decodes DynamoDB's wire form of an attribute value.
func decodeAV(src any, path string) (ddbtypes.AttributeValue, error) {
	obj, ok := src.(map[string]any)
	if !ok || len(obj) != 1 {
		return nil, fmt.Errorf("%s: an attribute value is an object with exactly one of S, N, B, SS, NS, BS, M, L, NULL, BOOL", member(path))
	}
	for tag, v := range obj {
		bad := fmt.Errorf("%s: bad %s attribute value", member(path), tag)
		switch tag {
		case "S":
			s, ok := v.(string)
			if !ok {
				return nil, bad
			}
			return &ddbtypes.AttributeValueMemberS{Value: s}, nil
		case "N":
			s, ok := v.(string)
			if !ok {
				return nil, bad
			}
			return &ddbtypes.AttributeValueMemberN{Value: s}, nil
		case "B":
			s, ok := v.(string)
			b, err := base64.StdEncoding.DecodeString(s)
			if !ok || err != nil {
				return nil, bad
			}
			return &ddbtypes.AttributeValueMemberB{Value: b}, nil
		case "BOOL":
			b, ok := v.(bool)
			if !ok {
				return nil, bad
			}
			return &ddbtypes.AttributeValueMemberBOOL{Value: b}, nil
		case "NULL":
			b, ok := v.(bool)
			if !ok || !b {
				return nil, bad
			}
			return &ddbtypes.AttributeValueMemberNULL{Value: true}, nil
		case "SS", "NS", "BS":
			arr, ok := v.([]any)
			if !ok {
				return nil, bad
			}
			ss := make([]string, len(arr))
			for i, e := range arr {
				if ss[i], ok = e.(string); !ok {
					return nil, bad
				}
			}
			switch tag {
			case "SS":
				return &ddbtypes.AttributeValueMemberSS{Value: ss}, nil
			case "NS":
				return &ddbtypes.AttributeValueMemberNS{Value: ss}, nil
			}
			bs := make([][]byte, len(ss))
			for i, s := range ss {
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return nil, bad
				}
				bs[i] = b
			}
			return &ddbtypes.AttributeValueMemberBS{Value: bs}, nil
		case "M":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, bad
			}
			out := make(map[string]ddbtypes.AttributeValue, len(m))
			for _, k := range sortedKeys(m) {
				av, err := decodeAV(m[k], join(path, k))
				if err != nil {
					return nil, err
				}
				out[k] = av
			}
			return &ddbtypes.AttributeValueMemberM{Value: out}, nil
		case "L":
			arr, ok := v.([]any)
			if !ok {
				return nil, bad
			}
			out := make([]ddbtypes.AttributeValue, len(arr))
			for i, e := range arr {
				av, err := decodeAV(e, fmt.Sprintf("%s[%d]", path, i))
				if err != nil {
					return nil, err
				}
				out[i] = av
			}
			return &ddbtypes.AttributeValueMemberL{Value: out}, nil
		}
		return nil, fmt.Errorf("%s: unknown attribute value type %q", member(path), tag)
	}
	panic("unreachable")
}

// encode renders an SDK output value as the integration returns it. The
// boolean is false for an absent member (nil pointer, slice, map or interface).
func encode(v reflect.Value) (any, bool, error) {
	t := v.Type()
	if t == timeType {
		return v.Interface().(time.Time).UTC().Format(timeLayout), true, nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false, nil
		}
		if av, ok := v.Interface().(ddbtypes.AttributeValue); ok {
			out, err := encodeAV(av)
			return out, err == nil, err
		}
		return encode(v.Elem())
	case reflect.Struct:
		out := make(map[string]any)
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" {
				continue
			}
			e, ok, err := encode(v.Field(i))
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", f.Name, err)
			}
			if ok {
				out[f.Name] = e
			}
		}
		return out, true, nil
	case reflect.Slice:
		if v.IsNil() {
			return nil, false, nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return base64.StdEncoding.EncodeToString(v.Bytes()), true, nil
		}
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			e, ok, err := encode(v.Index(i))
			if err != nil {
				return nil, false, err
			}
			if ok {
				out = append(out, e)
			}
		}
		return out, true, nil
	case reflect.Map:
		if v.IsNil() {
			return nil, false, nil
		}
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			e, ok, err := encode(it.Value())
			if err != nil {
				return nil, false, err
			}
			if ok {
				out[it.Key().String()] = e
			}
		}
		return out, true, nil
	case reflect.String:
		// The SDK holds enums as non-pointer strings: empty means absent.
		return v.String(), v.Len() > 0, nil
	case reflect.Bool:
		return v.Bool(), true, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(v.Int(), 10)), true, nil
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return json.Number(strconv.FormatUint(v.Uint(), 10)), true, nil
	case reflect.Float32, reflect.Float64:
		return json.Number(strconv.FormatFloat(v.Float(), 'g', -1, t.Bits())), true, nil
	}
	return nil, false, fmt.Errorf("members of type %s are not supported", t)
}

// encodeAV renders an attribute value in DynamoDB's wire form.
func encodeAV(av ddbtypes.AttributeValue) (any, error) {
	b64 := base64.StdEncoding.EncodeToString
	switch v := av.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return map[string]any{"S": v.Value}, nil
	case *ddbtypes.AttributeValueMemberN:
		return map[string]any{"N": v.Value}, nil
	case *ddbtypes.AttributeValueMemberB:
		return map[string]any{"B": b64(v.Value)}, nil
	case *ddbtypes.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}, nil
	case *ddbtypes.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}, nil
	case *ddbtypes.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}, nil
	case *ddbtypes.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}, nil
	case *ddbtypes.AttributeValueMemberBS:
		bs := make([]string, len(v.Value))
		for i, b := range v.Value {
			bs[i] = b64(b)
		}
		return map[string]any{"BS": bs}, nil
	case *ddbtypes.AttributeValueMemberM:
		m := make(map[string]any, len(v.Value))
		for k, e := range v.Value {
			x, err := encodeAV(e)
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
		return map[string]any{"M": m}, nil
	case *ddbtypes.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			x, err := encodeAV(e)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return map[string]any{"L": l}, nil
	}
	return nil, fmt.Errorf("unknown attribute value %T", av)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func member(path string) string {
	if path == "" {
		return "parameters"
	}
	return path
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}
