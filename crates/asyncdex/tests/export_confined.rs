//! An export writes only under `data/api/v2`, whatever the store it reads answers: a
//! store's endpoint names are checked where they are read, and the export checks every
//! path it writes once more, so a name that climbs out (`..`) is refused, not written.

use asyncdex::export::{export, Exportable};
use asyncdex::store::Stored;
use asyncdex::ErrorKind;

/// A store that answers one endpoint name, as given, with one resource under it.
struct Answers(&'static str);

impl Exportable for Answers {
    fn endpoints(&self) -> asyncdex::Result<Vec<String>> {
        Ok(vec![self.0.to_owned()])
    }

    fn for_each_verified(
        &self,
        _endpoint: &str,
        each: &mut dyn FnMut(Stored) -> asyncdex::Result<()>,
    ) -> asyncdex::Result<()> {
        each(Stored {
            id: 1,
            name: None,
            body: bytes::Bytes::from_static(b"{}"),
            fetched_at: 0,
            expires_at: None,
        })
    }
}

#[test]
fn a_name_that_climbs_out_of_the_layout_is_refused_and_nothing_is_written() {
    for name in ["..", "../../..", "", "."] {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        std::fs::create_dir(&site).unwrap();
        std::fs::write(site.join("index.json"), "mine").unwrap();
        let err = export(&Answers(name), &site).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{name:?}: {err}");
        assert!(
            err.to_string().contains("is not a file under data/api/v2"),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'));
        let left: Vec<_> = std::fs::read_dir(&site)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("index.json")],
            "{name:?}"
        );
        assert_eq!(std::fs::read(site.join("index.json")).unwrap(), b"mine");
    }
    // A plain name is written where it belongs.
    let dir = tempfile::tempdir().unwrap();
    export(&Answers("type"), dir.path()).unwrap();
    assert!(dir.path().join("data/api/v2/type/1/index.json").is_file());
}
