package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// HandlerFunc is the shape of an ALB target handler, such as Handler.Handle.
type HandlerFunc func(ctx context.Context, req events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error)

// RoundTripper returns an http.RoundTripper that serves each request by
// calling h in-process, the way an ALB with a Lambda target would: the
// request becomes an ALB event (the body base64-encoded unless its content
// type is text, as the ALB does), the answer becomes the *http.Response. A
// handler error becomes 502 Bad Gateway, as the ALB answers a failed
// invocation. The local drill points the producer's http.Client at it, so the
// producer and ingest code run unchanged without sockets.
func RoundTripper(h HandlerFunc) http.RoundTripper { return roundTripper(h) }

type roundTripper HandlerFunc

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	ev, err := albRequest(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := rt(ctx, ev)
	if err != nil {
		return httpResponse(req, events.ALBTargetGroupResponse{
			StatusCode: http.StatusBadGateway,
			Headers:    map[string]string{"Content-Type": "text/html"},
			Body:       "<html><body><h1>502 Bad Gateway</h1></body></html>",
		})
	}
	return httpResponse(req, out)
}

// albRequest turns req into the event an ALB would send, with single-value
// headers (the target group default), names lower-cased.
func albRequest(req *http.Request) (events.ALBTargetGroupRequest, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return events.ALBTargetGroupRequest{}, fmt.Errorf("read request body: %w", err)
		}
		body = b
	}
	ev := events.ALBTargetGroupRequest{
		HTTPMethod: req.Method,
		Path:       req.URL.Path,
		Headers:    make(map[string]string, len(req.Header)+1),
		RequestContext: events.ALBTargetGroupRequestContext{ELB: events.ELBContext{
			TargetGroupArn: "arn:aws:elasticloadbalancing:local:000000000000:targetgroup/ingest/local",
		}},
	}
	if ev.Path == "" {
		ev.Path = "/"
	}
	for k, vs := range req.Header {
		if len(vs) > 0 {
			ev.Headers[strings.ToLower(k)] = vs[len(vs)-1]
		}
	}
	if req.Host != "" {
		ev.Headers["host"] = req.Host
	}
	if q := req.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
		}
	}
	if len(body) > 0 {
		if isText(req.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev, nil
}

// isText reports a content type the ALB passes as plain text.
func isText(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/javascript" || mt == "application/xml"
}

func httpResponse(req *http.Request, out events.ALBTargetGroupResponse) (*http.Response, error) {
	body := []byte(out.Body)
	if out.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(out.Body)
		if err != nil {
			return nil, fmt.Errorf("decode handler response body: %w", err)
		}
		body = b
	}
	resp := &http.Response{
		Status:        strconv.Itoa(out.StatusCode) + " " + http.StatusText(out.StatusCode),
		StatusCode:    out.StatusCode,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, len(out.Headers)+len(out.MultiValueHeaders)),
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
	if out.StatusDescription != "" {
		resp.Status = out.StatusDescription
	}
	for k, v := range out.Headers {
		resp.Header.Set(k, v)
	}
	for k, vs := range out.MultiValueHeaders {
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	return resp, nil
}
