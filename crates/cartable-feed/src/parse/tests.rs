use super::*;

fn base() -> Url {
    Url::parse("https://news.example/feeds/main.xml").unwrap()
}

const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Le lycée</title>
  <link>https://news.example/</link>
  <description>Nouvelles</description>
  <item>
    <title>Portes   ouvertes &amp; &lt;forum&gt;</title>
    <link>https://news.example/portes-ouvertes</link>
    <pubDate>Fri, 01 Mar 2024 14:05:00 +0100</pubDate>
    <description><![CDATA[<p>Venez <b>nombreux</b> <a href="/plan">plan</a></p><script>alert(1)</script>]]></description>
  </item>
  <item>
    <title>Escaped HTML</title>
    <link>javascript:alert(1)</link>
    <description>&lt;p onclick="x()"&gt;Texte &lt;em&gt;important&lt;/em&gt;&lt;/p&gt;</description>
  </item>
  <item>
    <title>Relative</title>
    <link>../archives/3</link>
    <guid isPermaLink="false">id-3</guid>
  </item>
  <item>
    <guid isPermaLink="true">https://news.example/perma/4</guid>
    <content:encoded><![CDATA[<h2>Complet</h2><p>Tout le texte</p>]]></content:encoded>
  </item>
</channel>
</rss>"#;

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Éduscol</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2024-03-02T10:00:00Z</updated>
  <entry>
    <title type="html">&lt;b&gt;Bac&lt;/b&gt; 2024 &amp;amp; calendrier</title>
    <link rel="alternate" href="https://eduscol.example/bac"/>
    <link rel="enclosure" href="https://eduscol.example/bac.pdf"/>
    <id>urn:1</id>
    <updated>2024-03-02T10:00:00Z</updated>
    <published>2024-03-01T08:30:00+01:00</published>
    <summary type="html">&lt;p&gt;Les dates&lt;iframe src="https://evil.example"&gt;&lt;/iframe&gt;&lt;/p&gt;</summary>
  </entry>
  <entry>
    <title>Texte &lt;brut&gt;</title>
    <link href="data:text/html,x"/>
    <id>urn:2</id>
    <updated>2024-02-01T00:00:00Z</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>En <em>XHTML</em></p></div></content>
  </entry>
  <entry>
    <title>Sans date</title>
    <id>urn:3</id>
    <summary>a &lt; b</summary>
  </entry>
</feed>"#;

#[test]
fn reads_rss_with_html() {
    let feed = parse_feed(RSS.as_bytes(), &base()).unwrap();
    assert_eq!(feed.format, Format::Rss);
    assert_eq!(feed.items.len(), 4);
    let first = &feed.items[0];
    assert_eq!(first.title_html, "Portes ouvertes &amp; &lt;forum&gt;");
    assert_eq!(
        first.link.as_deref(),
        Some("https://news.example/portes-ouvertes")
    );
    assert_eq!(
        first.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-03-01T14:05:00+01:00")
    );
    assert_eq!(
        first.summary_html.as_deref(),
        Some(
            r#"<p>Venez <b>nombreux</b> <a href="https://news.example/plan" rel="noopener noreferrer">plan</a></p>"#
        )
    );
    assert_eq!(first.summary_chars, "Venez nombreux plan".len());

    let second = &feed.items[1];
    assert_eq!(second.link, None, "javascript: links are dropped");
    assert_eq!(
        second.summary_html.as_deref(),
        Some("<p>Texte <em>important</em></p>")
    );
    assert_eq!(
        feed.items[2].link.as_deref(),
        Some("https://news.example/archives/3")
    );
    assert_eq!(feed.items[2].summary_html, None);
    let fourth = &feed.items[3];
    assert_eq!(fourth.title_html, "");
    assert_eq!(
        fourth.link.as_deref(),
        Some("https://news.example/perma/4"),
        "a permalink guid stands for a missing link"
    );
    assert_eq!(
        fourth.summary_html.as_deref(),
        Some("Complet<p>Tout le texte</p>")
    );
}

#[test]
fn reads_atom_with_html() {
    let feed = parse_feed(ATOM.as_bytes(), &base()).unwrap();
    assert_eq!(feed.format, Format::Atom);
    assert_eq!(feed.items.len(), 3);
    let first = &feed.items[0];
    assert_eq!(first.title_html, "Bac 2024 &amp; calendrier");
    assert_eq!(first.link.as_deref(), Some("https://eduscol.example/bac"));
    assert_eq!(
        first.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-03-01T08:30:00+01:00"),
        "published wins over updated"
    );
    assert_eq!(first.summary_html.as_deref(), Some("<p>Les dates</p>"));

    let second = &feed.items[1];
    assert_eq!(second.title_html, "Texte &lt;brut&gt;");
    assert_eq!(second.link, None, "data: links are dropped");
    assert_eq!(
        second.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-02-01T00:00:00+00:00")
    );
    let summary = second.summary_html.as_deref().unwrap();
    assert!(summary.contains("<p>En <em>XHTML</em></p>"), "{summary}");

    let third = &feed.items[2];
    assert_eq!(third.date, None, "a missing <updated> is no date");
    assert_eq!(third.summary_html.as_deref(), Some("a &lt; b"));
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>t</title><link>https://x.example/</link><description>d</description>
<item><title>&lol9;</title><description>&lol9;</description></item>
</channel></rss>"#;

const XXE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE feed [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id>
<updated>2024-01-01T00:00:00Z</updated>
<entry><title>&xxe;</title><id>urn:y</id><updated>2024-01-01T00:00:00Z</updated><summary>&xxe;</summary></entry>
</feed>"#;

#[test]
fn billion_laughs_is_refused_before_parsing() {
    assert_eq!(
        parse_feed(BILLION_LAUGHS.as_bytes(), &base()),
        Err(FeedError::Dtd)
    );
    // Case does not help.
    let lower = BILLION_LAUGHS.replace("<!DOCTYPE", "<!doctype");
    assert!(parse_feed(lower.as_bytes(), &base()).is_err());
}

#[test]
fn external_entities_are_refused_before_parsing() {
    assert_eq!(parse_feed(XXE.as_bytes(), &base()), Err(FeedError::Dtd));
    let rss = XXE
        .replace("<!DOCTYPE feed", "<!DOCTYPE rss")
        .replace("feed xmlns", "rss version=\"2.0\" xmlns");
    assert_eq!(parse_feed(rss.as_bytes(), &base()), Err(FeedError::Dtd));
}

/// The guard is defence in depth: the crates alone do not expand custom entities either
/// (if a new version started to, this test would say so).
#[test]
fn the_crates_alone_never_expand_custom_entities() {
    let channel = rss::Channel::read_from(BILLION_LAUGHS.as_bytes()).unwrap();
    let item = &channel.items()[0];
    assert_eq!(item.title(), Some("&lol9;"));
    assert_eq!(item.description(), Some("&lol9;"));

    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    match atom_syndication::Feed::read_from(XXE.as_bytes()) {
        Ok(feed) => {
            let entry = &feed.entries()[0];
            assert_eq!(entry.title().as_str(), "&xxe;");
            assert!(!entry.title().as_str().contains("root:"));
            if !passwd.is_empty() {
                assert!(!format!("{feed:?}").contains(passwd.lines().next().unwrap_or("root:")));
            }
        }
        Err(e) => assert!(!e.to_string().contains("root:"), "{e}"),
    }
}

#[test]
fn an_external_dtd_reference_is_accepted_and_never_read() {
    let doc = RSS.replacen(
        "<rss",
        r#"<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "file:///etc/passwd">
<rss"#,
        1,
    );
    let feed = parse_feed(doc.as_bytes(), &base()).unwrap();
    assert_eq!(feed.items.len(), 4);
}

#[test]
fn malformed_documents_are_refused() {
    for (doc, what) in [
        ("", "no root"),
        ("not xml at all", "no root"),
        ("<rss><channel><title>x</title></channel>", "ends too early"),
        ("<rss><channel></item></channel></rss>", ""),
        ("<html><body>404</body></html>", "<html>"),
        (&RSS[..RSS.len() / 2], ""),
    ] {
        match parse_feed(doc.as_bytes(), &base()) {
            Err(FeedError::Malformed(msg)) => assert!(msg.contains(what), "{doc:?}: {msg}"),
            other => panic!("{doc:?} gave {other:?}"),
        }
    }
    // Well-formed, right root, but not a feed the crate accepts.
    assert!(matches!(
        parse_feed(b"<rss version=\"2.0\"></rss>", &base()),
        Err(FeedError::Malformed(_))
    ));
}

#[test]
fn hostile_item_html_is_sanitized() {
    let doc = r#"<rss version="2.0"><channel><title>t</title><link>https://x.example/</link><description>d</description>
<item><title>&lt;script&gt;alert(1)&lt;/script&gt;</title>
<link>https://x.example/1</link>
<description><![CDATA[
<script>alert('x')</script>
<img src="x" onerror="alert(1)">
<a href="javascript:alert(1)">clic</a>
<a href="https://ok.example/" onclick="steal()">ok</a>
<iframe src="https://evil.example/"></iframe>
<p style="background: expression(alert(1))" onmouseover="x()">fin</p>
]]></description></item></channel></rss>"#;
    let feed = parse_feed(doc.as_bytes(), &base()).unwrap();
    let item = &feed.items[0];
    assert_eq!(item.title_html, "&lt;script&gt;alert(1)&lt;/script&gt;");
    let html = item.summary_html.as_deref().unwrap().to_ascii_lowercase();
    for bad in [
        "<script",
        "onerror",
        "onclick",
        "onmouseover",
        "javascript:",
        "<iframe",
        "style=",
        "expression",
        "<img",
    ] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert!(html.contains(r#"<a href="https://ok.example/" rel="noopener noreferrer">ok</a>"#));
    assert!(html.contains("<p>fin</p>"));
}

#[test]
fn many_items_are_capped() {
    let mut doc = String::from(
        r#"<rss version="2.0"><channel><title>t</title><link>https://x.example/</link><description>d</description>"#,
    );
    for i in 0..80 {
        doc.push_str(&format!("<item><title>n{i}</title></item>"));
    }
    doc.push_str("</channel></rss>");
    let feed = parse_feed(doc.as_bytes(), &base()).unwrap();
    assert_eq!(feed.items.len(), MAX_ITEMS);
    assert_eq!(limit_chars(&"é".repeat(10), 3), "ééé…");
    assert_eq!(cut_bytes("aé", 2), "a");
}
