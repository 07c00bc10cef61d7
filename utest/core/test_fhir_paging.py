"""Paging: FHIR's link next, or Healthcode's meta.tag page/count with total; pages merged into one Bundle."""

import pytest

from healthcode_auth.protocol.fhir_paging import (
    merge_pages,
    next_link,
    next_page_fields,
    page_position,
    page_tags,
)


def healthcode_page(page, count=10, total=25, entries=None, **tags):
    tag = [
        {"code": "page", "display": str(page)},
        {"code": "count", "display": str(count)},
        *({"code": code, "display": str(value)} for code, value in tags.items()),
    ]
    if entries is None:
        entries = [
            {"resource": {"resourceType": "PaymentReconciliation", "id": f"RM{page}{n}"}}
            for n in range(min(count, max(0, total - (page - 1) * count)))
        ]
    return {"resourceType": "Bundle", "type": "collection", "meta": {"tag": tag}, "total": total, "entry": entries}


@pytest.mark.parametrize(("page", "expected"), [(1, "2"), (2, "3"), (3, None)])
def test_healthcodes_tags_say_whether_more_pages_remain(page, expected):
    fields = {"insurerIdentifier": "bup", "page": str(page), "count": "10"}
    following = next_page_fields(healthcode_page(page), fields)
    assert (following or {}).get("page") == expected
    if following:
        assert following["insurerIdentifier"] == "bup" and following["count"] == "10"


def test_the_total_may_come_from_max_records_and_the_page_from_the_fields():
    bundle = {
        "resourceType": "Bundle",
        "meta": {"tag": [{"code": "count", "display": "5"}, {"code": "maxRecords", "display": "12"}]},
    }
    assert page_position(bundle, {}).page == 1  # no page asked, none tagged: the first
    assert next_page_fields(bundle, {"page": "2"}) == {"page": "3"}
    assert next_page_fields(bundle, {"page": 3}) is None


def test_a_count_larger_than_anything_ends_the_list():
    bundle = healthcode_page(1, count=2147483647, total=17, maxCount=17)  # Healthcode's answer when no count is sent
    assert next_page_fields(bundle, {}) is None


@pytest.mark.bad_input
@pytest.mark.parametrize(
    "bundle",
    [
        {"resourceType": "Bundle"},
        {"resourceType": "Bundle", "total": 25, "meta": {"tag": "page=1"}},
        {
            "resourceType": "Bundle",
            "total": "lots",
            "meta": {"tag": [{"code": "page", "display": "1"}, {"code": "count", "display": "10"}]},
        },
        {
            "resourceType": "Bundle",
            "total": 25,
            "meta": {"tag": [{"code": "page", "display": "-1"}, {"code": "count", "display": "ten"}]},
        },
        {
            "resourceType": "Bundle",
            "total": 25,
            "meta": {"tag": [{"code": "page", "display": True}, {"code": "count", "display": 1e300}]},
        },
    ],
)
def test_unreadable_tags_mean_no_next_page(bundle):
    assert next_page_fields(bundle, {}) is None


def test_tags_read_numbers_and_digit_strings():
    assert page_tags(healthcode_page(2, maxRecords=25)) == {"page": 2, "count": 10, "maxRecords": 25}


def test_fhirs_next_link():
    bundle = {
        "resourceType": "Bundle",
        "link": [
            {"relation": "self", "url": "https://a/x?page=1"},
            {"relation": "next", "url": " https://a/x?page=2 "},
        ],
    }
    assert next_link(bundle) == "https://a/x?page=2"
    assert next_link({"resourceType": "Bundle", "link": [{"relation": "next", "url": 3}]}) is None
    assert next_link({"resourceType": "Bundle", "link": "next"}) is None


def test_pages_merge_into_one_bundle_with_every_entry_the_total_and_the_last_pages_tags():
    pages = [healthcode_page(1), healthcode_page(2), healthcode_page(3)]
    pages[0]["link"] = [{"relation": "next", "url": "https://a/x?page=2"}]
    merged = merge_pages(pages)
    assert len(merged["entry"]) == 25
    assert [e["resource"]["id"] for e in merged["entry"]][:2] == ["RM10", "RM11"]
    assert merged["total"] == 25
    assert merged["meta"]["tag"] == pages[2]["meta"]["tag"]
    assert "link" not in merged  # the first page's next link would mislead
    assert merged["type"] == "collection"
    assert pages[0]["entry"] is not merged["entry"] and len(pages[0]["entry"]) == 10  # the pages are untouched
