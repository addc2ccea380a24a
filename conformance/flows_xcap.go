package conformance

// The documents of TS 24.141 Annex A, in RFC 4826/5025/4827 form (the CR's examples are
// draft-era: '?' node selectors, list attributes that moved to rls-services, cpim-pidf).
const (
	a82List = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="Presence_fellows">
    <entry uri="sip:user2_public1@home2.net">
      <display-name>User2</display-name>
    </entry>
  </list>
</resource-lists>
`
	a82Entry = `<entry uri="sip:user3_public1@home3.net">
      <display-name>User3</display-name>
    </entry>`

	a82Services = `<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services">
  <service uri="sip:presence_fellows-${run}@${domain}">
    <resource-list>${root}/resource-lists/users/${xui}/index/~~/resource-lists/list%5B@name=%22Presence_fellows%22%5D</resource-list>
    <packages><package>presence</package></packages>
  </service>
</rls-services>
`

	a83Rules = `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules"
    xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="allow-fellows">
    <cr:conditions>
      <cr:identity><cr:one id="sip:user2_public1@home2.net"/></cr:identity>
    </cr:conditions>
    <cr:actions><sub-handling>allow</sub-handling></cr:actions>
    <cr:transformations><provide-all-attributes/></cr:transformations>
  </cr:rule>
</cr:ruleset>
`
	a83Rule = `<cr:rule id="block-user3"><cr:conditions><cr:identity><cr:one id="sip:user3_public1@home3.net"/></cr:identity></cr:conditions><cr:actions><sub-handling>block</sub-handling></cr:actions></cr:rule>`

	a84Picture = "\x89PNG\r\n\x1a\n imsps conformance picture"
	a84PIDF    = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:r="urn:ietf:params:xml:ns:pidf:rpid"
    entity="${xui}">
  <tuple id="t123sd">
    <status><basic>open</basic></status>
    <r:class>service</r:class>
    <contact>${xui}</contact>
  </tuple>
  <tuple id="t432sd">
    <status><basic>open</basic></status>
    <r:class>presentity</r:class>
    <note xml:lang="en">picture at ${mimeurl}/pictureX</note>
  </tuple>
</presence>
`
	a84Tuple = `<tuple id="t432sd"><status><basic>open</basic></status><r:class>presentity</r:class><note xml:lang="en">At home</note></tuple>`
)

// Percent-encoded node selectors, as RFC 4825 §6 URIs travel on the wire.
const (
	selFellows     = `/~~/resource-lists/list%5B@name=%22Presence_fellows%22%5D`
	selUser3       = selFellows + `/entry%5B@uri=%22sip:user3_public1@home3.net%22%5D`
	selUser2       = selFellows + `/entry%5B@uri=%22sip:user2_public1@home2.net%22%5D`
	selBlockRule   = `/~~/cr:ruleset/cr:rule%5B@id=%22block-user3%22%5D?xmlns(cr=urn:ietf:params:xml:ns:common-policy)`
	selTuple432    = `/~~/presence/tuple%5B@id=%22t432sd%22%5D`
	listsDoc       = "/resource-lists/users/${xui}/index"
	rulesDoc       = "/pres-rules/users/${xui}/index"
	servicesDoc    = "/rls-services/users/${xui}/index"
	pidfDoc        = "/pidf-manipulation/users/${xui}/index"
	xcapErrorMedia = "application/xcap-error\\+xml"
)

func put(path, media, body string, status int) *HTTPRequest {
	return &HTTPRequest{Method: "PUT", Path: path, ContentType: media, Body: body, Expect: Expect{Status: status}}
}

func get(path string, status int, has ...string) *HTTPRequest {
	return &HTTPRequest{Method: "GET", Path: path, Expect: Expect{Status: status, BodyHas: has}}
}

func del(path string, status int) *HTTPRequest {
	return &HTTPRequest{Method: "DELETE", Path: path, Expect: Expect{Status: status}}
}

// XCAPFlows are the Ut flows of TS 24.141 Annex A in RFC 4825 syntax, run as the configured
// XCAP user. A first DELETE of each document clears what an earlier run left (any status).
func XCAPFlows() []Flow {
	return []Flow{
		{
			Name: "xcap-a8.2-resource-lists",
			Spec: "TS 24.141 A.8.2 (resource lists) in RFC 4825/4826 form; RFC 4825 §7.11 conditional PUT",
			Steps: []Step{
				{Label: "clean", HTTP: del(listsDoc, 0)},
				{Label: "1/2 PUT list", HTTP: &HTTPRequest{Method: "PUT", Path: listsDoc, ContentType: "application/resource-lists+xml", Body: a82List,
					Expect: Expect{Status: 201, Headers: map[string]string{"ETag": `^".+"$`}, Save: map[string]string{"etag": "ETag"}}}},
				{Label: "GET list", HTTP: get(listsDoc, 200, "Presence_fellows", "sip:user2_public1@home2.net")},
				{Label: "3/4 PUT entry", HTTP: put(listsDoc+selUser3, "application/xcap-el+xml", a82Entry, 201)},
				{Label: "GET entry", HTTP: get(listsDoc+selUser3, 200, "sip:user3_public1@home3.net", "<display-name>User3</display-name>")},
				{Label: "stale If-Match", HTTP: &HTTPRequest{Method: "PUT", Path: listsDoc, ContentType: "application/resource-lists+xml", Body: a82List,
					Headers: []Header{{"If-Match", "${var:etag}"}}, Expect: Expect{Status: 412}}},
				{Label: "5/6 DELETE entry", HTTP: del(listsDoc+selUser2, 200)},
				{Label: "7/8 GET list", HTTP: get(listsDoc, 200, "sip:user3_public1@home3.net")},
				{Label: "deleted entry", HTTP: get(listsDoc+selUser2, 404)},
				{Label: "PUT rls service", HTTP: put(servicesDoc, "application/rls-services+xml", a82Services, 0)},
				{Label: "global index", HTTP: get("/rls-services/global/index", 200, "sip:presence_fellows-${run}@${domain}")},
				{Label: "global tree is not the user's", HTTP: &HTTPRequest{Method: "PUT", Path: "/rls-services/global/index",
					ContentType: "application/rls-services+xml", Body: a82Services, Expect: Expect{Status: 403}}},
				{Label: "duplicate entry", HTTP: &HTTPRequest{Method: "PUT", Path: listsDoc + selFellows + "/entry%5B2%5D", ContentType: "application/xcap-el+xml",
					Body:   `<entry uri="sip:user3_public1@home3.net"/>`,
					Expect: Expect{Status: 409, Headers: map[string]string{"Content-Type": xcapErrorMedia}, BodyHas: []string{"uniqueness-failure"}}}},
			},
		},
		{
			Name: "xcap-a8.3-pres-rules",
			Spec: "TS 24.141 A.8.3 (authorization policy) in RFC 5025 pres-rules form",
			Steps: []Step{
				{Label: "clean", HTTP: del(rulesDoc, 0)},
				{Label: "1/2 PUT rules", HTTP: put(rulesDoc, "application/auth-policy+xml", a83Rules, 201)},
				{Label: "3/4 PUT rule", HTTP: put(rulesDoc+selBlockRule, "application/xcap-el+xml", a83Rule, 201)},
				{Label: "GET rule", HTTP: get(rulesDoc+selBlockRule, 200, "block-user3", "<sub-handling>block</sub-handling>")},
				{Label: "invalid action", HTTP: &HTTPRequest{Method: "PUT", Path: rulesDoc + selBlockRule, ContentType: "application/xcap-el+xml",
					Body:   `<cr:rule id="block-user3"><cr:actions><sub-handling>maybe</sub-handling></cr:actions></cr:rule>`,
					Expect: Expect{Status: 409, BodyHas: []string{"schema-validation-error"}}}},
				{Label: "5/6 DELETE rule", HTTP: del(rulesDoc+selBlockRule, 200)},
				{Label: "7/8 GET rules", HTTP: get(rulesDoc, 200, "allow-fellows")},
			},
		},
		{
			Name: "xcap-a8.4-mime-and-pidf-manipulation",
			Spec: "TS 24.141 A.8.4 (stored MIME object, hard-state presence, RFC 4827) and the NOTIFY it causes (RFC 3903 §2 composition)",
			Steps: []Step{
				{Label: "clean", HTTP: del(pidfDoc, 0)},
				{Label: "clean picture", HTTP: del("/${mime}/users/${xui}/pictureX", 0)},
				{Label: "1/2 PUT picture", HTTP: put("/${mime}/users/${xui}/pictureX", "image/png", a84Picture, 201)},
				{Label: "replace picture", HTTP: put("/${mime}/users/${xui}/pictureX", "image/png", a84Picture, 200)},
				{Label: "GET picture", HTTP: &HTTPRequest{Method: "GET", Path: "/${mime}/users/${xui}/pictureX",
					Expect: Expect{Status: 200, Headers: map[string]string{"Content-Type": "^image/png"}, BodyHas: []string{"imsps conformance picture"}}}},
				{Label: "watch", SIP: &SIPRequest{Actor: "watcher", Method: "SUBSCRIBE", To: "${xui}", From: "${aor:watcher}", Dialog: "w",
					Headers: []Header{eventPresence, acceptPIDF, expires("600")}, Expect: Expect{Status: 200}}},
				{Label: "first NOTIFY", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^active`, BodyLacks: []string{`id="t123sd"`}}},
				{Label: "3/4 PUT pidf", HTTP: put(pidfDoc, "application/pidf+xml", a84PIDF, 201)},
				{Label: "NOTIFY hard state", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^active`,
					BodyHas: []string{`id="t123sd"`, `id="t432sd"`, "/pictureX"}}},
				{Label: "9/10 PUT tuple", HTTP: put(pidfDoc+selTuple432, "application/xcap-el+xml", a84Tuple, 200)},
				{Label: "NOTIFY changed tuple", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^active`,
					BodyHas: []string{"At home"}, BodyLacks: []string{"/pictureX"}}},
				{Label: "not index", HTTP: &HTTPRequest{Method: "PUT", Path: "/pidf-manipulation/users/${xui}/pidf.xml", ContentType: "application/pidf+xml", Body: a84PIDF,
					Expect: Expect{Status: 409}}},
				{Label: "DELETE pidf", HTTP: del(pidfDoc, 200)},
				{Label: "NOTIFY cleared", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^active`, BodyLacks: []string{`id="t123sd"`}}},
				{Label: "unsubscribe", SIP: &SIPRequest{Actor: "watcher", Method: "SUBSCRIBE", To: "${xui}", From: "${aor:watcher}", Dialog: "w",
					Headers: []Header{eventPresence, expires("0")}, Expect: Expect{Status: 200}}},
				{Label: "final NOTIFY", Notify: &NotifyExpect{Actor: "watcher", Dialog: "w", State: `^terminated`}},
			},
		},
	}
}
