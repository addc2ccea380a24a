package conformance

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Report is the outcome of one run.
type Report struct {
	Target            Target
	Started, Finished time.Time
	Flows             []*FlowResult
}

// FlowResult is the outcome of one flow.
type FlowResult struct {
	Flow  Flow
	Steps []StepResult
}

// StepResult is the outcome of one step: the messages exchanged and the failure, if any.
type StepResult struct {
	Label          string
	Message, Reply Message
	Err            string
}

// Message is one message on the ladder.
type Message struct {
	From, To string
	Text     string
}

// FirstLine is the message's start line.
func (m Message) FirstLine() string {
	line, _, _ := strings.Cut(m.Text, "\n")
	return strings.TrimSpace(line)
}

// Passed reports whether every step of the flow ran and passed.
func (f *FlowResult) Passed() bool {
	if len(f.Steps) != len(f.Flow.Steps) {
		return false
	}
	for _, s := range f.Steps {
		if s.Err != "" {
			return false
		}
	}
	return true
}

// Counts returns how many flows passed and failed.
func (r *Report) Counts() (passed, failed int) {
	for _, f := range r.Flows {
		if f.Passed() {
			passed++
		} else {
			failed++
		}
	}
	return
}

// WriteText writes one line per flow and per failing step, then the totals.
func (r *Report) WriteText(w io.Writer) {
	for _, f := range r.Flows {
		verdict := "PASS"
		if !f.Passed() {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%s %s (%s)\n", verdict, f.Flow.Name, f.Flow.Spec)
		for _, s := range f.Steps {
			if s.Err != "" {
				fmt.Fprintf(w, "    step %s: %s\n", s.Label, s.Err)
			}
		}
		if n := len(f.Flow.Steps) - len(f.Steps); n > 0 {
			fmt.Fprintf(w, "    %d later steps not run\n", n)
		}
	}
	p, fl := r.Counts()
	fmt.Fprintf(w, "conformance: %d passed, %d failed\n", p, fl)
}

// ladder is one flow laid out for the SVG ladder diagram.
type ladder struct {
	Name, Spec string
	Passed     bool
	Width      int
	Height     int
	Lanes      []lane
	Arrows     []arrow
	Steps      []StepResult
}

type lane struct {
	Name string
	X    int
}

type arrow struct {
	X1, X2, Y int
	Label     string
	Failed    bool
	Left      bool
}

const (
	laneGap  = 260
	rowGap   = 34
	marginX  = 90
	headRoom = 50
)

func layout(f *FlowResult) ladder {
	l := ladder{Name: f.Flow.Name, Spec: f.Flow.Spec, Passed: f.Passed(), Steps: f.Steps}
	x := map[string]int{}
	add := func(name string) {
		if _, ok := x[name]; ok || name == "" {
			return
		}
		x[name] = marginX + len(l.Lanes)*laneGap
		l.Lanes = append(l.Lanes, lane{Name: name, X: x[name]})
	}
	add("server")
	for _, s := range f.Steps {
		add(s.Message.From)
		add(s.Message.To)
	}
	y := headRoom
	for _, s := range f.Steps {
		for _, m := range []Message{s.Message, s.Reply} {
			if m.From == "" {
				continue
			}
			y += rowGap
			l.Arrows = append(l.Arrows, arrow{X1: x[m.From], X2: x[m.To], Y: y,
				Label: s.Label + " " + m.FirstLine(), Failed: s.Err != "" && m == s.Reply, Left: x[m.To] < x[m.From]})
		}
	}
	l.Width = marginX*2 + (len(l.Lanes)-1)*laneGap
	l.Height = y + rowGap
	return l
}

var reportHTML = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>imsps conformance report</title>
<style>
body{font-family:sans-serif;margin:2em}
.pass{color:#17692e}.fail{color:#b00020}
svg text{font-family:monospace;font-size:12px}
pre{background:#f6f6f6;padding:.5em;overflow:auto;font-size:12px}
details{margin:.3em 0}
</style></head><body>
<h1>Conformance report</h1>
<p>Target SIP {{.Target.SIP}} ({{.Target.Transport}}), domain {{.Target.Domain}}{{if .Target.XCAPRoot}}, XCAP {{.Target.XCAPRoot}}{{end}}.
Run {{.Started.Format "2006-01-02 15:04:05"}}: <b>{{.Passed}} passed, {{.Failed}} failed</b>.</p>
{{range .Ladders}}{{$h := .Height}}
<h2 class="{{if .Passed}}pass{{else}}fail{{end}}">{{if .Passed}}PASS{{else}}FAIL{{end}} {{.Name}}</h2>
<p>{{.Spec}}</p>
<svg width="{{.Width}}" height="{{.Height}}" xmlns="http://www.w3.org/2000/svg">
<defs><marker id="a" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>
{{range .Lanes}}<text x="{{.X}}" y="20" text-anchor="middle">{{.Name}}</text>
<line x1="{{.X}}" y1="28" x2="{{.X}}" y2="{{$h}}" stroke="#999"/>
{{end}}{{range .Arrows}}<line x1="{{.X1}}" y1="{{.Y}}" x2="{{.X2}}" y2="{{.Y}}" stroke="{{if .Failed}}#b00020{{else}}#333{{end}}" marker-end="url(#a)"/>
<text x="{{if .Left}}{{.X2}}{{else}}{{.X1}}{{end}}" dx="6" y="{{.Y}}" dy="-4" {{if .Failed}}fill="#b00020"{{end}}>{{.Label}}</text>
{{end}}</svg>
{{range .Steps}}<details{{if .Err}} open{{end}}><summary>{{.Label}}{{if .Err}} — <span class="fail">{{.Err}}</span>{{end}}</summary>
<pre>{{.Message.Text}}</pre>{{if .Reply.Text}}<pre>{{.Reply.Text}}</pre>{{end}}</details>
{{end}}{{end}}
</body></html>
`))

// WriteHTML writes the report as one HTML page with a ladder diagram per flow.
func (r *Report) WriteHTML(w io.Writer) error {
	p, f := r.Counts()
	data := struct {
		*Report
		Passed, Failed int
		Ladders        []ladder
	}{Report: r, Passed: p, Failed: f}
	for _, fl := range r.Flows {
		data.Ladders = append(data.Ladders, layout(fl))
	}
	return reportHTML.Execute(w, data)
}
