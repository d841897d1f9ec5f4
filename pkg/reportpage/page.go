// Package reportpage writes a DR report as one self-contained HTML page:
// inline CSS and SVG, no script and nothing fetched, so the file can be
// mailed, attached to a ticket or opened offline. A drill's report
// (pkg/drill) and an execution's report (pendulum report) are both turned
// into a Page, which Write renders: the verdict, the headline figures, an
// SVG timeline of both regions (outages, alarms, each DR step, traffic
// switches, acknowledgements per minute), then tables and checks.
//
// The package links nothing but the standard library, so the operator CLI
// can render a page without the simulator.
package reportpage

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"sync"
	"time"
)

// Page is what the HTML page shows.
type Page struct {
	// Title heads the page ("Drill regional-outage", "failover execution …").
	Title string
	// Verdict is the outcome in one word (PASSED, FAILED, SUCCEEDED…);
	// Passed colours it.
	Verdict string
	Passed  bool
	// Lines are short sentences under the verdict (what was expected, the
	// assembly…).
	Lines []string
	// Figures are the headline numbers (RTO, RPO, durations).
	Figures []Figure
	// Timeline, when set, is drawn as an SVG.
	Timeline *Timeline
	// Tables follow the timeline (the accounting per store…).
	Tables []Table
	// Checks are the invariants and their results.
	Checks []Check
	// Lists are titled lists of lines (notifications, denied calls…).
	Lists []List
}

// Figure is one headline number.
type Figure struct {
	Label, Value, Detail string
}

// Table is a titled table.
type Table struct {
	Title   string
	Columns []string
	Rows    [][]string
}

// Check is one invariant.
type Check struct {
	Name   string
	Passed bool
	Detail string
}

// List is a titled list of lines.
type List struct {
	Title string
	Items []string
}

// Timeline is a span of time (seconds from its start) with what happened
// in each region and each workflow's steps.
type Timeline struct {
	// Seconds is how long the timeline is; Start is its instant 0, for the
	// caption.
	Seconds float64
	Start   time.Time
	// Caption says what the clock is (virtual time of a drill…).
	Caption string
	// Regions are drawn as lanes: when each was down, and the records
	// acknowledged in each minute.
	Regions []Region
	// Markers are instants drawn across the whole timeline.
	Markers []Marker
	// Workflows are DR executions, each a block of step bars.
	Workflows []Workflow
}

// Region is one region's lane.
type Region struct {
	Name, Role string
	// Down are the periods the region was down (or degraded: Label says).
	Down []Span
	// AcksPerMinute is the records acknowledged by the region in each
	// minute from the timeline's start (nil: none shown).
	AcksPerMinute []int
}

// Span is a period, in seconds from the timeline's start.
type Span struct {
	From, To float64
	Label    string
}

// Marker kinds, which colour the line.
const (
	MarkerOutage  = "outage"
	MarkerAlarm   = "alarm"
	MarkerTraffic = "traffic"
	MarkerOther   = "other"
)

// Marker is an instant.
type Marker struct {
	At    float64
	Label string
	Kind  string
}

// Workflow is one execution's steps.
type Workflow struct {
	// Name ("failover"), Status ("SUCCEEDED (…)") and Seconds head the
	// block.
	Name, Status string
	Seconds      float64
	Steps        []Step
}

// Step is one step's bar: from its first entry to its last exit, in
// seconds from the timeline's start; Seconds is its time summed over its
// visits (Visits).
type Step struct {
	Name     string
	Depth    int // 1 for a state inside a parallel block
	From, To float64
	Seconds  float64
	Visits   int
}

// StepBars is how many step bars the page's timeline draws.
func (p Page) StepBars() int {
	if p.Timeline == nil {
		return 0
	}
	n := 0
	for _, w := range p.Timeline.Workflows {
		n += len(w.Steps)
	}
	return n
}

// Write renders the page.
func Write(w io.Writer, p Page) error {
	data := struct {
		Page
		SVG *svg
	}{Page: p}
	if p.Timeline != nil {
		data.SVG = layout(*p.Timeline)
	}
	return pageTemplate().Execute(w, data)
}

// Duration formats seconds for a person: to the hundredth below a minute,
// to the second above.
func Duration(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d < time.Minute {
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// The SVG's geometry, in pixels.
const (
	svgWidth    = 1120.0
	labelWidth  = 250.0
	rightMargin = 80.0
	plotWidth   = svgWidth - labelWidth - rightMargin
	axisHeight  = 64.0
	laneHeight  = 64.0
	headHeight  = 24.0
	stepHeight  = 16.0
	maxLabel    = 36
)

// svg is the laid-out timeline: every shape with its coordinates.
type svg struct {
	Width, Height float64
	Ticks         []tick
	Lanes         []lane
	Markers       []markerLine
	Blocks        []block
	Caption       string
}

type tick struct {
	X     float64
	Label string
}

type lane struct {
	X, Y, W, H  float64
	Label, Role string
	Down        []rect
	Acks        []rect
	Color       string
	AcksNote    string
}

type rect struct {
	X, Y, W, H float64
	Title      string
}

type markerLine struct {
	X, Y1, Y2, LabelY float64
	Label, Kind       string
}

type block struct {
	Y     float64
	Title string
	Steps []stepBar
}

type stepBar struct {
	rect
	LabelX, TextY, DurX float64
	Label, Dur          string
	Color               string
}

// regionColors and workflowColors tell regions and workflows apart.
var (
	regionColors   = []string{"#2b6cb0", "#b7791f", "#2f855a", "#6b46c1"}
	workflowColors = []string{"#3182ce", "#dd6b20", "#38a169", "#805ad5", "#d53f8c"}
)

// layout places the timeline's shapes.
func layout(t Timeline) *svg {
	total := t.Seconds
	if total <= 0 {
		total = 1
	}
	x := func(s float64) float64 { return labelWidth + math.Max(0, math.Min(s, total))/total*plotWidth }
	out := &svg{Width: svgWidth, Caption: t.Caption}
	step := tickStep(total)
	for s := 0.0; s <= total+1e-9; s += step {
		out.Ticks = append(out.Ticks, tick{X: x(s), Label: offset(s)})
	}
	y := axisHeight
	for i, r := range t.Regions {
		ln := lane{X: labelWidth, Y: y, W: plotWidth, H: laneHeight, Label: r.Name, Role: r.Role, Color: regionColors[i%len(regionColors)]}
		for _, d := range r.Down {
			ln.Down = append(ln.Down, rect{X: x(d.From), Y: y + 2, W: math.Max(1, x(d.To)-x(d.From)), H: laneHeight - 4,
				Title: fmt.Sprintf("%s: %s %s, for %s", r.Name, d.Label, offset(d.From), Duration(d.To-d.From))})
		}
		peak := 0
		for _, n := range r.AcksPerMinute {
			peak = max(peak, n)
		}
		if peak > 0 {
			ln.AcksNote = fmt.Sprintf("acks/min, peak %d", peak)
			for m, n := range r.AcksPerMinute {
				if n == 0 {
					continue
				}
				h := float64(n) / float64(peak) * (laneHeight - 12)
				x0, x1 := x(float64(m)*60), x(float64(m+1)*60)
				ln.Acks = append(ln.Acks, rect{X: x0, Y: y + laneHeight - 2 - h, W: math.Max(0.5, x1-x0-0.3), H: h,
					Title: fmt.Sprintf("%s, minute %s: %d records acknowledged", r.Name, offset(float64(m)*60), n)})
			}
		}
		out.Lanes = append(out.Lanes, ln)
		y += laneHeight + 6
	}
	for i, w := range t.Workflows {
		b := block{Y: y, Title: fmt.Sprintf("%s — %s in %s", w.Name, w.Status, Duration(w.Seconds))}
		y += headHeight
		color := workflowColors[i%len(workflowColors)]
		for _, s := range w.Steps {
			x0, x1 := x(s.From), x(s.To)
			label := s.Name
			if len([]rune(label)) > maxLabel {
				label = string([]rune(label)[:maxLabel-1]) + "…"
			}
			dur := Duration(s.Seconds)
			if s.Visits > 1 {
				dur += fmt.Sprintf(" ×%d", s.Visits)
			}
			bar := stepBar{
				rect:   rect{X: x0, Y: y + 2, W: math.Max(2, x1-x0), H: stepHeight - 4, Title: fmt.Sprintf("%s › %s: %s (%s → %s)", w.Name, s.Name, dur, offset(s.From), offset(s.To))},
				LabelX: 8 + 12*float64(s.Depth), TextY: y + stepHeight - 4, DurX: math.Max(x0, x1) + 6, Label: label, Dur: dur, Color: color,
			}
			if bar.DurX > svgWidth-rightMargin+10 {
				bar.DurX = svgWidth - rightMargin + 10
			}
			b.Steps = append(b.Steps, bar)
			y += stepHeight
		}
		out.Blocks = append(out.Blocks, b)
		y += 8
	}
	for i, m := range t.Markers {
		out.Markers = append(out.Markers, markerLine{X: x(m.At), Y1: axisHeight - 30, Y2: y, LabelY: 14 + float64(i%3)*12,
			Label: fmt.Sprintf("%s %s", m.Label, offset(m.At)), Kind: markerKind(m.Kind)})
	}
	out.Height = y + 24
	return out
}

func markerKind(k string) string {
	switch k {
	case MarkerOutage, MarkerAlarm, MarkerTraffic:
		return k
	}
	return MarkerOther
}

// tickStep is a round interval giving at most 12 ticks over total seconds.
func tickStep(total float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800} {
		if total/s <= 12 {
			return s
		}
	}
	return math.Ceil(total/12/86400) * 86400
}

// offset writes seconds from the start as +1h05m, +30s…
func offset(s float64) string {
	if s < 1e-9 {
		return "0"
	}
	d := time.Duration(math.Round(s)) * time.Second
	if s < 60 {
		return "+" + Duration(s)
	}
	var b strings.Builder
	b.WriteString("+")
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dd", days)
		d -= days * 24 * time.Hour
	}
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 || d > 0 {
		fmt.Fprintf(&b, "%02dm", m)
		d -= m * time.Minute
	}
	if d > 0 {
		fmt.Fprintf(&b, "%02ds", d/time.Second)
	}
	return b.String()
}

// pageTemplate is parsed on first use: the CLI that links this package
// should not pay for it on every start.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"f": func(v float64) string { return fmt.Sprintf("%.1f", v) },
	}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}: {{.Verdict}}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a202c; background: #f7fafc; margin: 0; padding: 24px 32px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  h2 { font-size: 16px; margin: 28px 0 8px; }
  .verdict { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff; font-weight: 700; letter-spacing: .04em; }
  .verdict.pass { background: #2f855a; } .verdict.fail { background: #c53030; }
  .lines { color: #4a5568; margin: 6px 0 0; padding: 0; list-style: none; }
  .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; margin-top: 18px; }
  .figure { background: #fff; border: 1px solid #e2e8f0; border-radius: 6px; padding: 10px 12px; }
  .figure .label { color: #718096; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
  .figure .value { font-size: 20px; font-weight: 650; margin-top: 2px; }
  .figure .detail { color: #4a5568; font-size: 12px; }
  .timeline { background: #fff; border: 1px solid #e2e8f0; border-radius: 6px; padding: 8px; overflow-x: auto; }
  svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #2d3748; }
  svg .tick line { stroke: #e2e8f0; } svg .tick text { fill: #718096; }
  svg .lane-bg { fill: #f7fafc; } svg .down { fill: #e53e3e; fill-opacity: .22; }
  svg .marker line { stroke-width: 1.2; stroke-dasharray: 4 3; }
  svg .marker.outage line { stroke: #c53030; } svg .marker.outage text { fill: #c53030; }
  svg .marker.alarm line { stroke: #d69e2e; } svg .marker.alarm text { fill: #975a16; }
  svg .marker.traffic line { stroke: #2f855a; } svg .marker.traffic text { fill: #276749; }
  svg .marker.other line { stroke: #718096; }
  svg .block-title { font-weight: 700; font-size: 12px; }
  svg .dur { fill: #4a5568; }
  table { border-collapse: collapse; background: #fff; border: 1px solid #e2e8f0; }
  th, td { padding: 4px 10px; border-bottom: 1px solid #edf2f7; text-align: left; font-variant-numeric: tabular-nums; }
  th { background: #edf2f7; font-weight: 600; }
  ul.checks { list-style: none; padding: 0; margin: 0; }
  ul.checks li { padding: 2px 0; }
  .ok { color: #2f855a; font-weight: 700; } .bad { color: #c53030; font-weight: 700; }
  .caption { color: #718096; font-size: 12px; margin: 4px 0 0; }
</style>
</head>
<body>
<h1>{{.Title}} <span class="verdict {{if .Passed}}pass{{else}}fail{{end}}" id="verdict">{{.Verdict}}</span></h1>
{{if .Lines}}<ul class="lines">{{range .Lines}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Figures}}<div class="figures" id="figures">{{range .Figures}}
  <div class="figure"><div class="label">{{.Label}}</div><div class="value">{{.Value}}</div>{{if .Detail}}<div class="detail">{{.Detail}}</div>{{end}}</div>{{end}}
</div>{{end}}
{{with .SVG}}<h2>Timeline</h2>
<div class="timeline">
<svg xmlns="http://www.w3.org/2000/svg" id="timeline" width="{{f .Width}}" height="{{f .Height}}" viewBox="0 0 {{f .Width}} {{f .Height}}" role="img" aria-label="timeline">
{{range .Ticks}}<g class="tick"><line x1="{{f .X}}" x2="{{f .X}}" y1="46" y2="{{f $.SVG.Height}}"/><text x="{{f .X}}" y="58" text-anchor="middle">{{.Label}}</text></g>
{{end}}{{range .Lanes}}<g class="lane">
<rect class="lane-bg" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}"/>
<text x="8" y="{{f .Y}}" dy="18" font-weight="700">{{.Label}}</text><text x="8" y="{{f .Y}}" dy="32">{{.Role}}</text>{{if .AcksNote}}<text x="8" y="{{f .Y}}" dy="46" class="dur">{{.AcksNote}}</text>{{end}}
{{range .Down}}<rect class="down" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}"><title>{{.Title}}</title></rect>
{{end}}{{$c := .Color}}{{range .Acks}}<rect class="acks" fill="{{$c}}" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}"><title>{{.Title}}</title></rect>
{{end}}</g>
{{end}}{{range .Blocks}}<g class="workflow"><text class="block-title" x="8" y="{{f .Y}}" dy="16">{{.Title}}</text>
{{range .Steps}}<text x="{{f .LabelX}}" y="{{f .TextY}}">{{.Label}}</text><rect class="step" fill="{{.Color}}" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}" rx="2"><title>{{.Title}}</title></rect><text class="dur" x="{{f .DurX}}" y="{{f .TextY}}">{{.Dur}}</text>
{{end}}</g>
{{end}}{{range .Markers}}<g class="marker {{.Kind}}"><line x1="{{f .X}}" x2="{{f .X}}" y1="{{f .Y1}}" y2="{{f .Y2}}"/><text x="{{f .X}}" y="{{f .LabelY}}" text-anchor="middle">{{.Label}}</text></g>
{{end}}</svg>
{{if .Caption}}<p class="caption">{{.Caption}}</p>{{end}}
</div>{{end}}
{{range .Tables}}<h2>{{.Title}}</h2>
<table><thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead><tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>
{{end}}{{if .Checks}}<h2>Checks</h2>
<ul class="checks" id="checks">{{range .Checks}}<li><span class="{{if .Passed}}ok{{else}}bad{{end}}">{{if .Passed}}ok{{else}}FAIL{{end}}</span> <b>{{.Name}}</b> {{.Detail}}</li>{{end}}</ul>
{{end}}{{range .Lists}}<h2>{{.Title}}</h2>
<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>
{{end}}</body>
</html>
`))
})
