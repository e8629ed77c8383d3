"""Template comments that would reach the screen."""

from django.conf import settings

APPS = ("backoffice", "hospital", "interop", "pharmacy", "scanning", "wards")


def test_no_template_opens_a_one_line_comment_it_does_not_close_on_that_line():
    # Django's {# … #} ends at the end of its line: one spread over two lines is printed as text
    # (the cart once showed a developer's note under the verdict). {% comment %} spans lines.
    unclosed = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}"
        for app in APPS
        for path in sorted((settings.BASE_DIR / app).rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "{#" in line and "#}" not in line.split("{#", 1)[1]
    ]
    assert unclosed == []
    assert any((settings.BASE_DIR / app).rglob("*.html") for app in APPS)


def test_the_cart_shows_no_template_comment(client, nurse):
    client.force_login(nurse)
    response = client.get("/cart/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="assessments"' in page
    assert "{#" not in page
    assert "#}" not in page
